"""A tiny JSON server for the benchmarks: ``python bench/_server.py ROUTES.json``.

Binds 127.0.0.1 on a free port, prints the port, answers GET ``path`` with the JSON value of
``routes[path]`` (404 otherwise), and exits when terminated or when its parent process dies.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


def main(routes_file: str) -> None:
    routes = {path: json.dumps(value).encode() for path, value in json.loads(Path(routes_file).read_text()).items()}
    not_found = b'{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}'

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

        def do_GET(self) -> None:
            body = routes.get(urlsplit(self.path).path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body if body is not None else not_found)))
            self.end_headers()
            self.wfile.write(body if body is not None else not_found)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # concurrent connects are not dropped (the default backlog is 5)

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    parent = os.getppid()

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        server.shutdown()

    threading.Thread(target=watch_parent, daemon=True).start()
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    main(sys.argv[1])
