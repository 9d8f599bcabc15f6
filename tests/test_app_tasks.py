"""Background tasks: bounded workers, timeouts, retries with backoff, states, 503 when full, drain."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from githubapp import GitHubApp
from githubapp.app import TaskManager, TaskQueueFull, TaskState, sign
from githubapp.app.config import AppSettings, load_env
from githubapp.config import ConfigError

pytestmark = pytest.mark.anyio

SECRET = "tasks-secret"


async def post(app: Any, number: int, delivery: str | None = None) -> httpx.Response:
    body = json.dumps({"action": "opened", "issue": {"number": number}}).encode()
    h = {"Content-Type": "application/json", "X-GitHub-Event": "issues", "X-Hub-Signature-256": sign(SECRET, body)}
    if delivery:
        h["X-GitHub-Delivery"] = delivery
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return await client.post("/webhooks/github/", content=body, headers=h)


async def test_workers_are_bounded() -> None:
    manager = TaskManager(max_workers=2)
    running = peak = 0

    async def work(n: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0.02)
        running -= 1
        return n * 10

    ids = [await manager.enqueue(work, n) for n in range(6)]
    assert manager.stats()["pending"] == 6
    assert await manager.join(timeout=5)
    assert peak == 2
    assert [manager.get(i).result for i in ids] == [0, 10, 20, 30, 40, 50]  # type: ignore[union-attr]
    assert manager.stats() == {"pending": 0, "running": 0, "completed": 6, "failed": 0}


async def test_states_pending_running_completed() -> None:
    manager = TaskManager(max_workers=1)
    release = anyio.Event()

    async def blocker() -> str:
        await release.wait()
        return "done"

    first = manager.submit(blocker)
    second = manager.submit(blocker)
    await anyio.sleep(0.01)
    assert manager.get(first).state == TaskState.RUNNING  # type: ignore[union-attr]
    assert manager.get(second).state == TaskState.PENDING  # type: ignore[union-attr]
    release.set()
    assert await manager.join(timeout=5)
    info = manager.get(second)
    assert info is not None and info.state == "completed" and info.result == "done"
    assert info.to_dict()["state"] == "completed"
    assert manager.get("no-such-task") is None


async def test_timeout_fails_the_task_and_keeps_it(caplog: pytest.LogCaptureFixture) -> None:
    manager = TaskManager(timeout=0.05)

    async def slow() -> None:
        await anyio.sleep(5)

    task_id = manager.submit(slow)
    assert await manager.join(timeout=5)
    info = manager.get(task_id)
    assert info is not None and info.state == TaskState.FAILED
    assert info.error == "TimeoutError: timed out after 0.05s"
    assert [f.id for f in manager.failed()] == [task_id]
    assert "background task slow" in caplog.text and "timed out" in caplog.text


async def test_retries_with_exponential_backoff() -> None:
    manager = TaskManager(retry_attempts=2, retry_delay=0.05)
    calls: list[float] = []

    def flaky() -> str:  # sync: runs in a worker thread
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise ConnectionError("try again")
        return "third time lucky"

    task_id = manager.submit(flaky)
    assert await manager.join(timeout=5)
    info = manager.get(task_id)
    assert info is not None and info.state == "completed" and info.attempts == 3 and info.max_attempts == 3
    assert info.result == "third time lucky"
    assert calls[1] - calls[0] >= 0.05
    assert calls[2] - calls[1] >= 0.1  # doubled


async def test_failure_after_retries_is_logged_and_kept(caplog: pytest.LogCaptureFixture) -> None:
    manager = TaskManager(retry_attempts=0, retry_delay=0.01)

    async def broken(x: int, *, y: int) -> None:
        raise RuntimeError(f"broken {x} {y}")

    task_id = manager.submit(broken, (1,), {"y": 2}, retries=1)
    assert await manager.join(timeout=5)
    info = manager.get(task_id)
    assert info is not None and info.state == "failed" and info.attempts == 2
    assert info.error == "RuntimeError: broken 1 2"
    assert info.traceback is not None and "RuntimeError" in info.traceback
    assert manager.failed() == [info]
    assert "failed after 2 attempt(s)" in caplog.text
    assert "attempt 1/2 failed" in caplog.text


async def test_failures_survive_a_flood_of_completed_tasks() -> None:
    manager = TaskManager(history_size=5)

    async def ok() -> None:
        return None

    async def bad() -> None:
        raise ValueError("kept")

    failed = manager.submit(bad)
    for _ in range(20):
        manager.submit(ok)
    assert await manager.join(timeout=5)
    assert manager.get(failed) is not None
    assert manager.stats()["completed"] == 20


async def test_queue_bound() -> None:
    manager = TaskManager(max_workers=1, queue_size=1)
    release = anyio.Event()
    manager.submit(release.wait)
    manager.submit(release.wait)
    with pytest.raises(TaskQueueFull, match="queue is full"):
        manager.submit(release.wait)
    release.set()
    assert await manager.join(timeout=5)
    manager.submit(release.wait)  # room again


async def test_shutdown_drains_then_refuses() -> None:
    manager = TaskManager(max_workers=2)
    done: list[int] = []

    async def work(n: int) -> None:
        await anyio.sleep(0.05)
        done.append(n)

    for n in range(5):
        await manager.enqueue(work, n)
    await manager.shutdown(timeout=5)
    assert sorted(done) == [0, 1, 2, 3, 4]
    with pytest.raises(TaskQueueFull, match="shutting down"):
        manager.submit(work, (9,))
    manager.start()
    manager.submit(work, (9,))
    assert await manager.join(timeout=5)


async def test_shutdown_cancels_what_outlives_the_drain_timeout() -> None:
    manager = TaskManager()

    async def forever() -> None:
        await anyio.sleep(60)

    task_id = manager.submit(forever)
    started = time.monotonic()
    await manager.shutdown(timeout=0.1)
    assert time.monotonic() - started < 5
    info = manager.get(task_id)
    assert info is not None and info.state == "failed" and "cancelled" in (info.error or "")


async def test_sync_task_timeout_does_not_block_the_worker_slot() -> None:
    manager = TaskManager(max_workers=1, timeout=0.05)

    def stuck() -> None:
        time.sleep(0.3)

    async def quick() -> str:
        return "quick"

    slow_id = manager.submit(stuck)
    quick_id = manager.submit(quick)
    assert await manager.join(timeout=5)
    assert manager.get(slow_id).state == "failed"  # type: ignore[union-attr]
    assert manager.get(quick_id).result == "quick"  # type: ignore[union-attr]


# -- through the webhook ----------------------------------------------------------------------------


def background_app(**config: Any) -> tuple[FastAPI, GitHubApp]:
    app = FastAPI()
    app.config = {"GITHUBAPP_WEBHOOK_SECRET": SECRET, **config}  # type: ignore[attr-defined]
    return app, GitHubApp(app)


async def test_background_handler_answers_202_at_once() -> None:
    app, github_app = background_app()
    release = anyio.Event()
    finished: list[int] = []

    @github_app.on("issues")
    def inline() -> str:
        return "inline"

    @github_app.on("issues.opened", background=True, timeout=5, retries=1)
    async def slow() -> int:
        await release.wait()
        finished.append(github_app.payload["issue"]["number"])
        return 1

    with anyio.fail_after(2):
        response = await post(app, 1)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "HIT" and body["calls"] == {"inline": "inline"}
    task_id = body["tasks"]["slow"]
    assert finished == []
    status = await github_app.get_task_status(task_id)
    assert status is not None and status.state in ("pending", "running") and status.max_attempts == 2
    release.set()
    assert await github_app.task_manager.join(timeout=5)
    assert finished == [1]
    assert (await github_app.get_task_status(task_id)).state == "completed"  # type: ignore[union-attr]


async def test_full_queue_answers_503_and_a_redelivery_is_accepted_later(caplog: pytest.LogCaptureFixture) -> None:
    app, github_app = background_app(GITHUBAPP_MAX_WORKERS="1", GITHUBAPP_TASK_QUEUE_SIZE="1")
    release = anyio.Event()

    @github_app.on("issues.opened", background=True)
    async def blocked() -> None:
        await release.wait()

    assert (await post(app, 1, "q-1")).status_code == 202  # running
    assert (await post(app, 2, "q-2")).status_code == 202  # waiting
    full = await post(app, 3, "q-3")
    assert full.status_code == 503
    assert "queue is full" in full.json()["detail"]["description"]
    assert "refused" in caplog.text
    release.set()
    assert await github_app.task_manager.join(timeout=5)
    assert (await post(app, 3, "q-3")).status_code == 202  # the redelivery is processed


async def test_background_failure_is_kept_not_lost() -> None:
    app, github_app = background_app(GITHUBAPP_TASK_RETRY_ATTEMPTS="1", GITHUBAPP_TASK_RETRY_DELAY="0.01")

    @github_app.on("issues.opened", background=True)
    def explode() -> None:
        raise KeyError("missing")

    response = await post(app, 1)
    assert response.status_code == 202
    assert await github_app.task_manager.join(timeout=5)
    info = await github_app.get_task_status(response.json()["tasks"]["explode"])
    assert info is not None and info.state == "failed" and info.attempts == 2
    assert github_app.task_manager.failed() == [info]


async def test_enqueue_task_from_a_handler_keeps_the_delivery() -> None:
    app, github_app = background_app()
    seen: list[Any] = []

    async def follow_up(tag: str, *, twice: bool) -> None:
        seen.append((tag, twice, github_app.payload["issue"]["number"], github_app.delivery_id))

    @github_app.on("issues.opened")
    async def handler() -> str:
        return await github_app.enqueue_task(follow_up, "tag", twice=True)

    response = await post(app, 4, "enq-1")
    task_id = response.json()["calls"]["handler"]
    assert await github_app.task_manager.join(timeout=5)
    assert seen == [("tag", True, 4, "enq-1")]
    assert (await github_app.get_task_status(task_id)).state == "completed"  # type: ignore[union-attr]


async def test_lifespan_shutdown_drains_background_tasks() -> None:
    github_app = GitHubApp(github_app_secret=SECRET)
    done: list[int] = []

    @github_app.on("issues.opened", background=True)
    async def slow() -> None:
        await anyio.sleep(0.2)
        done.append(github_app.payload["issue"]["number"])

    asgi = github_app.asgi_app()
    send_to_app, app_receive = anyio.create_memory_object_stream[dict[str, Any]](10)
    app_send, receive_from_app = anyio.create_memory_object_stream[dict[str, Any]](10)

    async with anyio.create_task_group() as tg:
        tg.start_soon(asgi, {"type": "lifespan"}, app_receive.receive, app_send.send)
        await send_to_app.send({"type": "lifespan.startup"})
        assert (await receive_from_app.receive())["type"] == "lifespan.startup.complete"
        assert [(await post(asgi, n)).status_code for n in (1, 2, 3)] == [202, 202, 202]
        assert done == []
        await send_to_app.send({"type": "lifespan.shutdown"})
        with anyio.fail_after(5):
            assert (await receive_from_app.receive())["type"] == "lifespan.shutdown.complete"
        assert sorted(done) == [1, 2, 3]  # drained before shutdown completed
    assert (await post(asgi, 4)).status_code == 503  # no longer accepting


async def test_fastapi_lifespan_is_chained_and_drains() -> None:
    from contextlib import asynccontextmanager

    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        events.append("user startup")
        yield
        events.append("user shutdown")

    app = FastAPI(lifespan=lifespan)
    app.config = {"GITHUBAPP_WEBHOOK_SECRET": SECRET}  # type: ignore[attr-defined]
    github_app = GitHubApp(app)

    @github_app.on("issues.opened", background=True)
    async def slow() -> None:
        await anyio.sleep(0.1)
        events.append("task done")

    async with app.router.lifespan_context(app):
        assert (await post(app, 1)).status_code == 202
    assert events == ["user startup", "task done", "user shutdown"]


# -- settings -------------------------------------------------------------------------------------


def test_settings_from_config_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUBAPP_MAX_WORKERS", "3")
    monkeypatch.setenv("GITHUBAPP_TASK_TIMEOUT", "12.5")
    monkeypatch.setenv("GITHUBAPP_TASK_RETRY_ATTEMPTS", "4")
    monkeypatch.setenv("GITHUBAPP_TASK_RETRY_DELAY", "0.5")
    monkeypatch.setenv("GITHUBAPP_CLIENT_TIMEOUT", "7")
    config: dict[str, Any] = {"GITHUBAPP_MAX_WORKERS": 8}
    load_env(config)
    assert config["GITHUBAPP_MAX_WORKERS"] == 8  # already set: kept
    assert config["GITHUBAPP_CLIENT_TIMEOUT"] == "7"
    settings = AppSettings.from_mapping(config)
    assert (settings.max_workers, settings.task_timeout, settings.task_retry_attempts, settings.task_retry_delay) == (
        8,
        12.5,
        4,
        0.5,
    )
    github_app = GitHubApp(github_app_secret=SECRET)
    GitHubApp.load_env(github_app)
    manager = github_app.task_manager
    assert (manager.max_workers, manager.timeout, manager.retry_attempts, manager.retry_delay) == (3, 12.5, 4, 0.5)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("GITHUBAPP_MAX_WORKERS", "many", "GITHUBAPP_MAX_WORKERS: expected an integer, got 'many'"),
        ("GITHUBAPP_MAX_WORKERS", 0, "GITHUBAPP_MAX_WORKERS: must be >= 1"),
        ("GITHUBAPP_TASK_TIMEOUT", "-1", "GITHUBAPP_TASK_TIMEOUT: must be a finite number >= 0"),
        ("GITHUBAPP_TASK_RETRY_ATTEMPTS", 1.5, "GITHUBAPP_TASK_RETRY_ATTEMPTS: expected an integer"),
        ("GITHUBAPP_TASK_RETRY_DELAY", "nan", "GITHUBAPP_TASK_RETRY_DELAY: must be a finite number"),
    ],
)
def test_bad_settings_name_the_key(key: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        AppSettings.from_mapping({key: value})


def test_task_manager_repr_and_validation() -> None:
    assert "max_workers=2" in repr(TaskManager(max_workers=2))
    for kwargs in ({"max_workers": 0}, {"queue_size": 0}, {"retry_attempts": -1}, {"timeout": 0}):
        with pytest.raises(ValueError):
            TaskManager(**kwargs)


def test_logger_is_githubapp() -> None:
    assert logging.getLogger("githubapp.app").parent is logging.getLogger("githubapp")
