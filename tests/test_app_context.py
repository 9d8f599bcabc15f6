"""Per-delivery context: payload/event/delivery_id never leak between concurrent deliveries.

0.2.7 stored the payload on the app instance, so two deliveries handled at the same time could
see each other's payload. Here each delivery has its own ``ContextVar`` value, also inside sync
handlers (worker threads) and background tasks. Typed handlers get the parsed event.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from githubapp import GitHubApp
from githubapp.app import sign
from githubapp.app.context import Delivery, current_delivery, delivery_context
from githubapp.webhooks import IssuesClosed, IssuesOpened

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::githubapp.errors.SpecDriftWarning")]

SECRET = "context-secret"


def issue(number: int, action: str = "opened") -> dict[str, Any]:
    return {
        "action": action,
        "issue": {"number": number, "title": f"issue {number}"},
        "repository": {"name": "repo", "owner": {"login": "octo"}},
        "installation": {"id": 1000 + number},
    }


async def post(app: Any, payload: dict[str, Any], delivery: str, event: str = "issues") -> httpx.Response:
    body = json.dumps(payload).encode()
    h = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(SECRET, body),
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return await client.post("/webhooks/github/", content=body, headers=h)


def make() -> tuple[FastAPI, GitHubApp]:
    app = FastAPI()
    return app, GitHubApp(app, github_app_secret=SECRET)


async def test_two_concurrent_async_deliveries_see_their_own_payload() -> None:
    app, github_app = make()
    both_started = anyio.Event()
    started = 0
    seen: dict[str, tuple[int, str, str | None]] = {}

    @github_app.on("issues.opened")
    async def handler() -> int:
        nonlocal started
        before = github_app.payload["issue"]["number"]
        started += 1
        if started == 2:
            both_started.set()
        with anyio.fail_after(5):
            await both_started.wait()  # both deliveries are now in flight at once
        seen[github_app.delivery_id or ""] = (
            github_app.payload["issue"]["number"],
            github_app.event,
            github_app.delivery_id,
        )
        assert github_app.payload["issue"]["number"] == before
        return before

    results: dict[str, httpx.Response] = {}

    async def send(number: int) -> None:
        results[str(number)] = await post(app, issue(number), f"delivery-{number}")

    async with anyio.create_task_group() as tg:
        tg.start_soon(send, 1)
        tg.start_soon(send, 2)

    assert seen == {"delivery-1": (1, "issues", "delivery-1"), "delivery-2": (2, "issues", "delivery-2")}
    assert results["1"].json()["calls"] == {"handler": 1}
    assert results["2"].json()["calls"] == {"handler": 2}


async def test_two_concurrent_sync_deliveries_in_threads_see_their_own_payload() -> None:
    app, github_app = make()
    barrier = threading.Barrier(2, timeout=5)
    seen: list[tuple[int, str | None, int]] = []

    @github_app.on("issues")
    def handler() -> int:  # runs in a worker thread
        number = github_app.payload["issue"]["number"]
        barrier.wait()  # both threads hold a delivery at the same time
        seen.append((github_app.payload["issue"]["number"], github_app.delivery_id, threading.get_ident()))
        assert github_app.payload["issue"]["number"] == number
        return number

    results: list[httpx.Response] = []

    async def send(number: int) -> None:
        results.append(await post(app, issue(number), f"sync-{number}"))

    async with anyio.create_task_group() as tg:
        for n in (1, 2):
            tg.start_soon(send, n)

    assert sorted(r.json()["calls"]["handler"] for r in results) == [1, 2]
    assert sorted((n, d) for n, d, _ in seen) == [(1, "sync-1"), (2, "sync-2")]
    assert seen[0][2] != seen[1][2]  # two different threads
    assert threading.get_ident() not in {ident for _, _, ident in seen}


async def test_background_tasks_keep_their_own_delivery() -> None:
    app, github_app = make()
    gate = anyio.Event()
    seen: dict[str, int] = {}

    @github_app.on("issues.opened", background=True)
    async def later() -> None:
        await gate.wait()  # by now the requests have long been answered
        seen[github_app.delivery_id or ""] = github_app.payload["issue"]["number"]

    @github_app.on("issues.opened", background=True)
    def later_sync() -> int:
        return int(github_app.payload["issue"]["number"])

    responses = [await post(app, issue(n), f"bg-{n}") for n in (1, 2, 3)]
    assert [r.status_code for r in responses] == [202, 202, 202]
    assert current_delivery() is None  # nothing leaked into the caller's context
    gate.set()
    assert await github_app.task_manager.join(timeout=5)
    assert seen == {"bg-1": 1, "bg-2": 2, "bg-3": 3}
    for n, response in zip((1, 2, 3), responses, strict=True):
        info = await github_app.get_task_status(response.json()["tasks"]["later_sync"])
        assert info is not None and info.state == "completed" and info.result == n
        assert info.delivery_id == f"bg-{n}" and info.event == "issues.opened"


def test_payload_outside_a_delivery() -> None:
    github_app = GitHubApp(github_app_secret=SECRET)
    with pytest.raises(AttributeError, match="only available while a webhook delivery"):
        _ = github_app.payload
    assert not hasattr(github_app, "event")
    with delivery_context(Delivery("push", {"ref": "refs/heads/main"}, "id-1")):
        assert github_app.payload == {"ref": "refs/heads/main"}
        assert (github_app.event, github_app.delivery_id) == ("push", "id-1")
    assert current_delivery() is None


def test_payload_can_be_set_like_0_2_7_tests_did() -> None:
    github_app = GitHubApp(github_app_secret=SECRET)

    def in_fresh_context() -> None:
        github_app.payload = {"installation": {"id": 456}}
        assert github_app.payload["installation"]["id"] == 456
        assert github_app._installation_id(None) == 456

    import contextvars

    contextvars.copy_context().run(in_fresh_context)
    assert current_delivery() is None


async def test_typed_event_handlers() -> None:
    app, github_app = make()
    got: list[Any] = []

    @github_app.on("issues.opened")
    async def typed(event: IssuesOpened) -> int:
        got.append(event)
        return event.issue.number

    @github_app.on("issues")
    def either(event: IssuesOpened | IssuesClosed) -> str:  # sync, in a thread, union of models
        got.append(event)
        return type(event).__name__

    @github_app.on("issues.closed")
    def raw(payload: dict[str, Any]) -> str:
        got.append(payload)
        return str(payload["action"])

    @github_app.on("issues.opened")
    def untyped(payload) -> int:  # type: ignore[no-untyped-def]
        return int(payload["issue"]["number"])

    @github_app.on("issues.opened")
    def no_args() -> str:
        return "zero-arg"

    opened = await post(app, issue(7), "t-1")
    assert opened.json()["calls"] == {"either": "WebhookIssuesOpened", "typed": 7, "untyped": 7, "no_args": "zero-arg"}
    assert isinstance(got[0], IssuesOpened) and isinstance(got[1], IssuesOpened)
    assert got[1].repository.owner.login == "octo"
    closed = await post(app, issue(8, "closed"), "t-2")
    assert closed.json()["calls"] == {"either": "WebhookIssuesClosed", "raw": "closed"}
    assert isinstance(got[2], IssuesClosed)
    assert got[3] == issue(8, "closed")


async def test_typed_event_annotation_resolved_at_first_delivery() -> None:
    app, github_app = make()

    @github_app.on("issues.opened", background=True)
    async def later(event: LaterModel) -> int:  # defined below: resolved at the first delivery
        return event.issue.number  # type: ignore[no-any-return]

    response = await post(app, issue(5), "fwd-1")
    assert response.status_code == 202
    assert await github_app.task_manager.join(timeout=5)
    info = await github_app.get_task_status(response.json()["tasks"]["later"])
    assert info is not None and info.state == "completed" and info.result == 5


LaterModel = IssuesOpened
