"""A scripted HTTP/1.1 server on 127.0.0.1 for fault-injection tests of the request pipeline.

It runs an asyncio-streams server in a background thread (own event loop), so it can do what a
framework server cannot: close a connection without answering, or stall past a client's read
timeout. Every request it receives is recorded (method, path, query, headers, body, arrival time),
so tests assert on what the server *saw*, not on what the client believes it sent::

    server = FaultServer().start()
    server.resource("/repos/o/r/issues/1", {"title": "t"})        # GET (ETag, 304), PATCH updates
    server.script("GET", "/repos/o/r/issues/1", Reply(503), Drop(), Stall(1.0))   # then the resource
    ...
    [seen.method for seen in server.requests("/repos/o/r/issues/1")]
    server.stop()

Default answers, once a path's script is used up (or when it has none):

- ``GET`` of a resource: ``200`` with its JSON body and an ``ETag`` (``"<path>-v<version>"``, the
  same for every caller: a client that shared one cache entry between identities would be served
  the wrong body by a ``304``); ``304`` when ``If-None-Match`` matches.
- ``PATCH`` of a resource: merges the JSON body into it, bumps the version (new ETag), ``200``.
- ``POST``: ``201`` with ``{"id": <n>, **body}``.
- anything else: ``404``.

With :attr:`FaultServer.tokens` set, a request whose bearer token is not in it gets ``401``
(before any script is consulted). Every answer carries ``x-ratelimit-*`` headers (plenty left)
unless the script says otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

# -- what the fault tests serve and send ---------------------------------------------------------
ISSUE_PATH = "/repos/o/r/issues/1"
ISSUES_PATH = "/repos/o/r/issues"
ISSUE = {
    "id": 1, "node_id": "I_1", "number": 1, "state": "open", "title": "first", "url": "u", "html_url": "h",
    "repository_url": "r", "labels_url": "l", "comments_url": "c", "events_url": "e", "user": None,
    "labels": [], "assignee": None, "assignees": [], "milestone": None, "locked": False, "comments": 0,
    "closed_at": None, "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
    "author_association": "OWNER", "body": None,
}
#: a write of each method: (path, JSON body)
WRITES: dict[str, tuple[str, dict[str, Any] | None]] = {
    "POST": (ISSUES_PATH, {"title": "new"}),
    "PATCH": (ISSUE_PATH, {"title": "changed"}),
    "PUT": ("/repos/o/r/issues/1/lock", {"lock_reason": "spam"}),
    "DELETE": ("/repos/o/r/issues/1/lock", None),
}

__all__ = ["ISSUE", "ISSUES_PATH", "ISSUE_PATH", "WRITES", "Drop", "FaultServer", "Reply", "Seen", "Stall"]


# -- what the server can be told to do -----------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    """Answer with ``status``, ``headers`` and a JSON body (``json=None``: the default answer's body
    for 2xx, GitHub's ``{"message": ...}`` for errors); after ``delay`` seconds."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    delay: float = 0.0


@dataclass(frozen=True)
class Drop:
    """Read the request, then close the connection without answering (``reset``: with a TCP RST)."""

    reset: bool = False


@dataclass(frozen=True)
class Stall:
    """Read the request, answer nothing for ``seconds`` (past the client's read timeout), then close."""

    seconds: float


Fault = Reply | Drop | Stall


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    at: float  # time.monotonic() when the whole request had been read
    wall: float  # time.time() at the same moment
    answer: str  # "200", "304", "drop", "stall", ...

    @property
    def token(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value.removeprefix("Bearer ") if value.startswith("Bearer ") else None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class _Resource:
    body: dict[str, Any]
    per_token: dict[str, dict[str, Any]]
    version: int = 1

    def etag(self, path: str) -> str:
        return f'"{path.strip("/").replace("/", "-")}-v{self.version}"'


# -- the server ----------------------------------------------------------------------------------
class FaultServer:
    """HTTP/1.1 with keep-alive on ``127.0.0.1:<free port>``; scripted per method and path."""

    def __init__(self) -> None:
        self.port = 0
        self.tokens: set[str] | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-server", daemon=True)
        self._server: asyncio.Server | None = None
        self._lock = threading.Lock()
        self._seen: list[Seen] = []
        self._scripts: dict[tuple[str, str], deque[Fault]] = defaultdict(deque)
        self._resources: dict[str, _Resource] = {}
        self._created = 0
        self._in_flight = 0
        self._generation = 0  # bumped by reset(): stalls left over from a test do not count in the next
        self.max_in_flight = 0
        self._writers: set[asyncio.StreamWriter] = set()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FaultServer:
        self._thread.start()
        self._call(self._listen())
        return self

    def stop(self) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Forget scripts, resources, tokens and the request log (between tests)."""
        with self._lock:
            self._seen.clear()
            self._scripts.clear()
            self._resources.clear()
            self._created = 0
            self._in_flight = self.max_in_flight = 0
            self._generation += 1
            self.tokens = None
        self._call(self._close_connections())

    def offline(self, seconds: float) -> None:
        """Stop listening now (new connections are refused) and listen again on the same port
        after ``seconds``. Returns once the port refuses connections."""
        self._call(self._stop_listening())

        async def later() -> None:
            await asyncio.sleep(seconds)
            await self._listen()

        self._loop.call_soon_threadsafe(lambda: self._loop.create_task(later()))

    # -- scripting -----------------------------------------------------------------------------
    def resource(self, path: str, body: Mapping[str, Any], *, per_token: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """Serve ``body`` at ``path`` (``per_token``: a different body for each bearer token)."""
        with self._lock:
            self._resources[path] = _Resource(dict(body), {k: dict(v) for k, v in (per_token or {}).items()})

    def script(self, method: str, path: str, *faults: Fault) -> None:
        """Answer the next requests of ``method path`` with ``faults``, in order; then the default."""
        with self._lock:
            self._scripts[(method.upper(), path)].extend(faults)

    def pending(self, method: str, path: str) -> int:
        with self._lock:
            return len(self._scripts[(method.upper(), path)])

    # -- what was seen -------------------------------------------------------------------------
    def requests(self, path: str | None = None, method: str | None = None) -> list[Seen]:
        with self._lock:
            return [
                s for s in self._seen
                if (path is None or s.path == path) and (method is None or s.method == method.upper())
            ]

    def wait_for(self, count: int, path: str | None = None, timeout: float = 5.0) -> list[Seen]:
        """Block until ``count`` requests (of ``path``) were seen; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            seen = self.requests(path)
            if len(seen) >= count:
                return seen
            if time.monotonic() > deadline:
                raise AssertionError(f"server saw {len(seen)} request(s) of {path or 'any path'}, expected {count}")
            time.sleep(0.005)

    # -- internals -----------------------------------------------------------------------------
    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()  # stops accepting; open connections stay (Python 3.12)
            self._server = None

    async def _close_connections(self) -> None:
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _shutdown(self) -> None:
        await self._stop_listening()
        await self._close_connections()
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass  # the client went away, or the server is shutting down
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False  # the client closed an idle keep-alive connection
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        path, _, query = target.partition("?")
        with self._lock:
            generation = self._generation
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            fault = self._decide(method, path, headers)
            reply = None if isinstance(fault, Drop | Stall) else self._answer(fault, method, path, headers, body)
            answer = self._label(fault) if reply is None else str(reply[0])
            with self._lock:
                self._seen.append(Seen(method, path, query, headers, body, time.monotonic(), time.time(), answer))
            if isinstance(fault, Drop):
                if fault.reset:
                    writer.transport.abort()
                else:
                    writer.close()
                return False
            if isinstance(fault, Stall):
                await asyncio.sleep(fault.seconds)
                writer.close()
                return False
            assert reply is not None
            if fault.delay:
                await asyncio.sleep(fault.delay)
            status, out_headers, payload = reply
        finally:
            with self._lock:
                if generation == self._generation:
                    self._in_flight -= 1
        writer.write(self._encode(status, out_headers, payload))
        await writer.drain()
        return headers.get("connection", "").lower() != "close"

    @staticmethod
    def _label(fault: Fault) -> str:
        if isinstance(fault, Drop):
            return "reset" if fault.reset else "drop"
        return "stall"

    def _decide(self, method: str, path: str, headers: Mapping[str, str]) -> Fault:
        token = headers.get("authorization", "").removeprefix("Bearer ")
        with self._lock:
            if self.tokens is not None and token not in self.tokens:
                return Reply(401, json={"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
            queue = self._scripts.get((method, path))
            if queue:
                return queue.popleft()
        return Reply(0)  # the default answer

    def _answer(
        self, fault: Reply, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes | None]:
        out = {
            "content-type": "application/json; charset=utf-8",
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "4999",
            "x-ratelimit-used": "1",
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-resource": "core",
            "x-github-request-id": f"REQ:{len(self._seen)}",
        }
        if fault.status == 0 or 200 <= fault.status < 300:
            status, default_headers, payload = self._default(method, path, headers, body)
            out.update(default_headers)
            if fault.status:
                status = fault.status
        else:
            status, payload = fault.status, {"message": HTTPStatus(fault.status).phrase}
        out.update({k.lower(): v for k, v in fault.headers.items()})
        if fault.json is not None:
            payload = fault.json
        if status == 304:
            return status, out, None
        return status, out, json.dumps(payload).encode()

    def _default(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        token = headers.get("authorization", "").removeprefix("Bearer ")
        with self._lock:
            res = self._resources.get(path)
            if method == "GET" and res is not None:
                etag = res.etag(path)
                if headers.get("if-none-match") == etag:
                    return 304, {"etag": etag}, None
                return 200, {"etag": etag}, res.per_token.get(token, res.body)
            if method == "PATCH" and res is not None:
                res.body.update(json.loads(body or b"{}"))
                res.version += 1
                return 200, {"etag": res.etag(path)}, res.body
            if method == "POST":
                self._created += 1
                return 201, {}, {"id": self._created, **json.loads(body or b"{}")}
        return 404, {}, {"message": "Not Found"}

    @staticmethod
    def _encode(status: int, headers: Mapping[str, str], payload: bytes | None) -> bytes:
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if payload is not None:
            lines.append(f"content-length: {len(payload)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (payload or b"")


def statuses(seen: Iterable[Seen]) -> list[str]:
    """The answers the server gave, in order (``"503"``, ``"drop"``, ``"200"``, ...)."""
    return [s.answer for s in seen]
