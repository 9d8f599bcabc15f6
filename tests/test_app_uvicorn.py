"""Integration: a real uvicorn server on 127.0.0.1 receives 200 signed deliveries at once.

Background handlers (async and sync) are slow on purpose: every delivery must be acknowledged
(202) before its handlers finish, every handler must run exactly once with its own payload, a
forged delivery must run nothing, and shutting the server down must drain the queue.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from githubapp import GitHubApp
from githubapp.app import sign

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SECRET = "uvicorn-secret"
DELIVERIES = 200


@contextmanager
def serve(app: Any) -> Iterator[tuple[str, uvicorn.Server]]:
    """Run ``app`` under uvicorn in a thread, on a free port of 127.0.0.1; stop it (lifespan shutdown) on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level="warning", backlog=512, timeout_graceful_shutdown=30)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


def payload(n: int) -> dict[str, Any]:
    return {"action": "opened", "issue": {"number": n}, "installation": {"id": 1}}


def ack_recorder(app: Any, sent: dict[str, float]) -> Any:
    """ASGI middleware: when the server handed each delivery's response to the socket."""

    async def wrapper(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        delivery = dict(scope["headers"]).get(b"x-github-delivery", b"").decode()

        async def recording_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                sent[delivery] = time.monotonic()

        await app(scope, receive, recording_send)

    return wrapper


def build(asgi: str) -> tuple[Any, GitHubApp, dict[str, Any]]:
    record: dict[str, Any] = {"async": {}, "sync": {}, "lock": threading.Lock(), "mismatch": [], "sent": {}}
    config = {"GITHUBAPP_WEBHOOK_SECRET": SECRET, "GITHUBAPP_MAX_WORKERS": "64", "GITHUBAPP_TASK_QUEUE_SIZE": "1000"}
    if asgi == "fastapi":
        app: Any = FastAPI()
        app.config = config
        github_app = GitHubApp(app)
    else:
        github_app = GitHubApp()
        github_app.config.update(config)
        app = github_app.asgi_app()

    def note(kind: str, started: float) -> None:
        number = github_app.payload["issue"]["number"]
        delivery = github_app.delivery_id
        if delivery != f"delivery-{number}":
            record["mismatch"].append((kind, delivery, number))
        with record["lock"]:
            record[kind].setdefault(delivery, []).append((started, time.monotonic()))

    @github_app.on("issues.opened", background=True)
    async def slow_async() -> None:
        started = time.monotonic()
        await anyio.sleep(0.3)  # slow: the ack must not wait for this
        note("async", started)

    @github_app.on("issues.opened", background=True)
    def slow_sync() -> None:
        started = time.monotonic()
        time.sleep(0.1)  # blocking, in a worker thread
        note("sync", started)

    return ack_recorder(app, record["sent"]), github_app, record


@pytest.mark.parametrize("asgi", ["fastapi", "plain"])
async def test_200_concurrent_deliveries_under_uvicorn(asgi: str) -> None:
    app, github_app, record = build(asgi)
    acks: dict[str, tuple[int, float, dict[str, Any]]] = {}

    with serve(app) as (url, _server):
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

            async def deliver(n: int, secret: str = SECRET, delivery: str | None = None) -> None:
                body = json.dumps(payload(n)).encode()
                delivery = delivery or f"delivery-{n}"
                response = await client.post(
                    "/webhooks/github/",
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-GitHub-Event": "issues",
                        "X-GitHub-Delivery": delivery,
                        "X-Hub-Signature-256": sign(secret, body),
                    },
                )
                acks[delivery] = (response.status_code, time.monotonic(), response.json())

            started = time.monotonic()
            async with anyio.create_task_group() as tg:
                for n in range(DELIVERIES):
                    tg.start_soon(deliver, n)
                tg.start_soon(deliver, 10_000, "forged-secret", "forged")
            ack_seconds = time.monotonic() - started
        busy = github_app.task_manager.stats()
        # leaving `serve` shuts uvicorn down: the lifespan drains the queue before it returns

    statuses = [acks[f"delivery-{n}"][0] for n in range(DELIVERIES)]
    assert statuses == [202] * DELIVERIES
    assert acks["forged"][0] == 400
    assert "forged" not in record["async"] and "forged" not in record["sync"]
    assert record["mismatch"] == []
    for kind in ("async", "sync"):
        assert sorted(record[kind]) == sorted(f"delivery-{n}" for n in range(DELIVERIES))
        assert all(len(runs) == 1 for runs in record[kind].values()), f"{kind}: a handler ran twice"
    for n in range(DELIVERIES):
        delivery = f"delivery-{n}"
        body = acks[delivery][2]
        assert set(body["tasks"]) == {"slow_async", "slow_sync"}
        sent = record["sent"][delivery]  # the server answered before either handler finished
        assert sent < record["async"][delivery][0][1], "ack sent after the async handler finished"
        assert sent < record["sync"][delivery][0][1], "ack sent after the sync handler finished"
    assert busy["pending"] + busy["running"] > 0, "nothing left to drain: the drain went untested"
    stats = github_app.task_manager.stats()
    assert stats == {"pending": 0, "running": 0, "completed": 2 * DELIVERIES, "failed": 0}
    assert ack_seconds < 10, f"acknowledging {DELIVERIES} deliveries took {ack_seconds:.1f}s"
