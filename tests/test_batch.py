"""``gh.batch`` and the bulk helpers: order, failures, fail_fast, cancellation, progress, pauses.

The big tests run against a real HTTP server on 127.0.0.1 (stdlib ``ThreadingHTTPServer`` in a
thread, started here) that logs every request it gets, so "no call made twice" and "the batch
paused" are read from the server's side.
"""

from __future__ import annotations

import builtins
import inspect
import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import httpx
import pytest
import respx

from githubapp import AsyncGitHubClient, GitHubClient
from githubapp.batch import AsyncCall, BatchCancelledError, BatchProgress
from githubapp.config import ClientSettings
from githubapp.errors import NotFoundError, ValidationFailedError
from githubapp.models.label import Label

pytestmark = pytest.mark.usefixtures("reuse_ssl_context")

#: no write spacing (500 writes would take 500 s), quick retries, the pipeline's slots above the batch's
FAST: ClientSettings = {"write_spacing": 0.0, "retry_backoff": 0.01, "max_concurrency": 64}


def label(name: str, i: int = 1) -> dict[str, Any]:
    return {"id": i, "node_id": f"LA_{i}", "url": f"https://api.github.com/repos/o/r/labels/{name}", "name": name,
            "description": None, "color": "ededed", "default": False}


# -- a real local server -------------------------------------------------------------------------

LABELS_PATH = re.compile(r"^/repos/o/r/issues/(\d+)/labels$")


@dataclass
class Hit:
    method: str
    path: str
    body: bytes
    at: float
    status: int


@dataclass
class Server:
    """What the server does (``fail`` / ``limit_once``) and what it saw (``log``, ``peak``)."""

    base_url: str = ""
    log: list[Hit] = field(default_factory=list)
    fail: set[int] = field(default_factory=set)          # issue numbers answered 404
    limit_once: set[int] = field(default_factory=set)    # first request answered 403 secondary rate limit
    delay: float = 0.002
    in_flight: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.log.clear()
            self.fail = set()
            self.limit_once = set()
            self.in_flight = self.peak = 0


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    state = Server()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.in_flight += 1
                state.peak = max(state.peak, state.in_flight)
            try:
                time.sleep(state.delay)
                status, headers, payload = self.answer(body)
                with state.lock:
                    state.log.append(Hit("POST", self.path, body, time.monotonic(), status))
            finally:
                with state.lock:
                    state.in_flight -= 1
            data = json.dumps(payload).encode()
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", "Content-Length": str(len(data)), **headers}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def answer(self, body: bytes) -> tuple[int, dict[str, str], Any]:
            match = LABELS_PATH.match(self.path)
            if match is None:
                return 404, {}, {"message": "Not Found"}
            number = int(match.group(1))
            with state.lock:
                if number in state.limit_once:
                    state.limit_once.discard(number)
                    return 403, {"retry-after": "1"}, {
                        "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                    }
            if number in state.fail:
                return 404, {"x-github-request-id": f"REQ:{number}"}, {"message": "Not Found"}
            return 200, {}, [label(name, i) for i, name in enumerate(json.loads(body)["labels"], 1)]

        def log_message(self, format: str, *args: object) -> None:
            pass

    class HTTPServer(ThreadingHTTPServer):
        request_queue_size = 128  # the default 5 drops SYNs of concurrent connects (1 s retransmit)

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def add_label_calls(gh: AsyncGitHubClient, numbers: range) -> list[AsyncCall[list[Label]]]:
    return [(gh.issues.add_labels, {"owner": "o", "repo": "r", "issue_number": n, "labels": [f"l{n}"]}) for n in numbers]


@pytest.mark.anyio
async def test_500_calls_at_concurrency_10_with_injected_failures(server: Server) -> None:
    server.reset()
    numbers = range(1, 501)
    server.fail = {n for n in numbers if n % 20 == 0}  # 25 calls = 5%
    reports: list[BatchProgress] = []
    async with AsyncGitHubClient(token="t", base_url=server.base_url, **FAST) as gh:
        results = await gh.batch(add_label_calls(gh, numbers), concurrency=10, on_progress=reports.append)

    assert len(results) == 500
    failed = {n for n, r in zip(numbers, results, strict=True) if isinstance(r, Exception)}
    assert failed == server.fail
    for n, result in zip(numbers, results, strict=True):
        if n in server.fail:
            assert isinstance(result, NotFoundError) and result.request_id == f"REQ:{n}"
            assert f"/repos/o/r/issues/{n}/labels" in str(result.url)
        else:  # in input order: each result is the labels of its own issue
            assert not isinstance(result, Exception)
            assert [lb.name for lb in result] == [f"l{n}"]

    paths = [hit.path for hit in server.log]
    assert len(paths) == 500 and len(set(paths)) == 500  # every call made exactly once
    assert 1 < server.peak <= 10

    assert reports[0] == BatchProgress(0, 500, 0, reports[0].elapsed)
    assert [(p.done, p.total) for p in reports[1:]] == [(i, 500) for i in range(1, 501)]
    last = reports[-1]
    assert (last.done, last.total, last.failed, last.succeeded, last.fraction) == (500, 500, 25, 475, 1.0)
    assert all(a.elapsed <= b.elapsed for a, b in itertools.pairwise(reports))


@pytest.mark.anyio
async def test_a_secondary_rate_limit_mid_batch_pauses_every_worker(server: Server) -> None:
    server.reset()
    server.limit_once = {40}
    numbers = range(1, 121)
    async with AsyncGitHubClient(token="t", base_url=server.base_url, **FAST) as gh:
        start = time.monotonic()
        results = await gh.batch(add_label_calls(gh, numbers), concurrency=10)
        elapsed = time.monotonic() - start

    assert not [r for r in results if isinstance(r, Exception)], results
    assert [lb.name for lb in results[39]] == ["l40"]  # type: ignore[union-attr]  # no failures, checked above
    limited = [hit for hit in server.log if hit.status == 403]
    assert len(limited) == 1 and limited[0].path.endswith("/issues/40/labels")
    t403 = limited[0].at
    # nothing new goes out for ~1 s. Calls already on the wire (or sent before the client read the 403)
    # land within a few ms; allow up to 9 stragglers. Unpaused, most of the ~80 calls left would land here.
    during = [hit for hit in server.log if t403 + 0.2 < hit.at < t403 + 0.9]
    assert len(during) <= 9, [(round(h.at - t403, 3), h.path) for h in during]
    assert [hit for hit in server.log if hit.at >= t403 + 0.9]  # then the batch went on
    assert elapsed >= 1.0
    assert sorted(hit.path for hit in server.log if hit.status == 200) == sorted(
        f"/repos/o/r/issues/{n}/labels" for n in numbers
    )


# -- the machinery, without a server ----------------------------------------------------------------


async def value(x: int, delay: float = 0.0) -> int:
    await anyio.sleep(delay)
    return x


async def boom(x: int, delay: float = 0.0) -> int:
    await anyio.sleep(delay)
    raise ValueError(f"boom {x}")


@pytest.mark.anyio
async def test_call_forms_results_in_input_order() -> None:
    async with AsyncGitHubClient(token="t") as gh:
        results = await gh.batch(
            [value(1, 0.03), (value, {"x": 2, "delay": 0.01}), lambda: value(3), (boom, {"x": 4}), value(5)],
            concurrency=2,
        )
    assert results[:3] == [1, 2, 3] and results[4] == 5
    assert isinstance(results[3], ValueError) and str(results[3]) == "boom 4"


@pytest.mark.anyio
async def test_concurrency_bound_and_empty_batch() -> None:
    running = peak = 0

    async def tracked(i: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0.005)
        running -= 1
        return i

    async with AsyncGitHubClient(token="t") as gh:
        assert await gh.batch([tracked(i) for i in range(30)], concurrency=4) == list(range(30))
        assert await gh.batch([], on_progress=lambda p: pytest.fail(f"no progress for an empty batch: {p}")) == []
    assert peak == 4


@pytest.mark.anyio
async def test_fail_fast_cancels_the_rest_and_reports_them() -> None:
    started: list[int] = []

    async def call(i: int) -> int:
        started.append(i)
        if i == 5:
            raise ValidationFailedError("Validation Failed", 422)
        await anyio.sleep(0.05 if i < 5 else 0.01)
        return i

    coros = [call(i) for i in range(20)]
    async with AsyncGitHubClient(token="t") as gh:
        results = await gh.batch(coros, concurrency=3, fail_fast=True)

    assert isinstance(results[5], ValidationFailedError)
    cancelled = {i: r for i, r in enumerate(results) if isinstance(r, BatchCancelledError)}
    assert all(r.cause is results[5] and r.index == i for i, r in cancelled.items())
    in_flight = {i for i, r in cancelled.items() if r.started}
    assert in_flight == {3, 4}  # running next to #5 when it failed
    assert set(cancelled) == {3, 4} | set(range(6, 20))
    assert started == [0, 1, 2, 3, 4, 5]
    assert results[:3] == [0, 1, 2]
    assert all(inspect.getcoroutinestate(c) == inspect.CORO_CLOSED for c in coros)  # no "never awaited"
    assert "fail_fast" in str(cancelled[10]) and "not started" in str(cancelled[10])


@pytest.mark.anyio
async def test_cancelling_the_caller_cancels_the_batch() -> None:
    started: list[int] = []
    finished: list[int] = []

    async def slow(i: int) -> int:
        started.append(i)
        await anyio.sleep(0.05)
        finished.append(i)
        return i

    coros = [slow(i) for i in range(50)]
    async with AsyncGitHubClient(token="t") as gh:
        with anyio.move_on_after(0.12) as scope:
            await gh.batch(coros, concurrency=5)
    assert scope.cancelled_caught
    assert 5 <= len(started) < 50 and len(finished) < len(started)
    assert all(inspect.getcoroutinestate(c) == inspect.CORO_CLOSED for c in coros)


@pytest.mark.anyio
async def test_progress_callback_errors_propagate_and_bad_input_is_named() -> None:
    def broken(p: BatchProgress) -> None:
        if p.done == 2:
            raise RuntimeError("callback broke")

    async with AsyncGitHubClient(token="t") as gh:
        with pytest.raises(RuntimeError, match="callback broke"):
            await gh.batch([value(i) for i in range(10)], concurrency=1, on_progress=broken)
        coro = value(1)
        with pytest.raises(TypeError, match=r"batch call #1: expected an awaitable"):
            await gh.batch([coro, 42])
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED
        coro = value(2)
        with pytest.raises(TypeError, match=r"batch call #1: expected a \(method, kwargs\) pair"):
            await gh.batch([coro, (value, 1)])
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED
        with pytest.raises(ValueError, match="concurrency must be an int >= 1, got 0"):
            await gh.batch([], concurrency=0)


@pytest.mark.anyio
async def test_progress_bar_uses_tqdm_or_names_the_extra(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    async with AsyncGitHubClient(token="t") as gh:
        pytest.importorskip("tqdm")
        assert await gh.batch([value(i) for i in range(3)], progress=True) == [0, 1, 2]
        assert "3/3" in capsys.readouterr().err

        real_import = builtins.__import__

        def no_tqdm(name: str, *args: Any, **kwargs: Any) -> Any:
            if name.startswith("tqdm"):
                raise ImportError(f"No module named {name!r}")
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", no_tqdm)
        monkeypatch.setattr("importlib.import_module", lambda name, package=None: no_tqdm(name))
        coro = value(1)
        with pytest.raises(ImportError, match=r"pip install 'githubapp\[progress\]'"):
            await gh.batch([coro], progress=True)
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED


# -- bulk helpers -----------------------------------------------------------------------------------


ISSUE = {"id": 1, "node_id": "I_1", "number": 1, "state": "closed", "title": "t", "url": "u", "html_url": "h",
         "repository_url": "r", "labels_url": "l", "comments_url": "c", "events_url": "e", "user": None,
         "labels": [], "assignee": None, "assignees": [], "milestone": None, "locked": False, "comments": 0,
         "pull_request": None, "closed_at": None, "created_at": "2024-01-01T00:00:00Z",
         "updated_at": "2024-01-01T00:00:00Z", "author_association": "OWNER", "body": None}


def issue_json(number: int, **changes: Any) -> dict[str, Any]:
    echoed = {k: v for k, v in changes.items() if k in ("title", "state", "state_reason", "body")}
    return {**ISSUE, "id": number, "number": number, **echoed}


@pytest.mark.anyio
async def test_bulk_helpers_return_per_number_results() -> None:
    with respx.mock(base_url="https://api.github.com") as mock:
        labels = mock.post(path__regex=r"^/repos/o/r/issues/(?P<n>\d+)/labels$").mock(
            side_effect=lambda request, n: httpx.Response(404, json={"message": "Not Found"}) if n == "3"
            else httpx.Response(200, json=[label(name) for name in json.loads(request.content)["labels"]])
        )
        update = mock.patch(path__regex=r"^/repos/o/r/issues/(?P<n>\d+)$").mock(
            side_effect=lambda request, n: httpx.Response(200, json=issue_json(int(n), **json.loads(request.content)))
        )
        comment = mock.post(path__regex=r"^/repos/o/r/issues/(?P<n>\d+)/comments$").mock(
            side_effect=lambda request, n: httpx.Response(422, json={"message": "Validation Failed"}) if n == "2"
            else httpx.Response(201, json={"id": int(n), "node_id": "C", "url": "u", "html_url": "h", "body": "bye",
                                           "user": None, "created_at": "2024-01-01T00:00:00Z",
                                           "updated_at": "2024-01-01T00:00:00Z", "issue_url": "i",
                                           "author_association": "OWNER"})
        )
        async with AsyncGitHubClient(token="t", **FAST) as gh:
            added = await gh.bulk_add_labels("o", "r", [1, 2, 3], ["triage", "bug"])
            updated = await gh.bulk_update_issues("o", "r", range(1, 4), milestone=7, assignees=["octocat"])
            closed = await gh.bulk_close_issues("o", "r", [1, 2], comment="Closing as stale.", state_reason="not_planned")

    assert list(added) == [1, 2, 3]
    assert [lb.name for lb in added[1]] == ["triage", "bug"]  # type: ignore[union-attr]
    assert isinstance(added[3], NotFoundError)
    assert json.loads(labels.calls[0].request.content) == {"labels": ["triage", "bug"]}

    assert list(updated) == [1, 2, 3] and updated[2].number == 2  # type: ignore[union-attr]
    assert json.loads(update.calls[0].request.content) == {"milestone": 7, "assignees": ["octocat"]}

    assert closed[1].state == "closed"  # type: ignore[union-attr]
    assert isinstance(closed[2], ValidationFailedError)  # the comment failed: issue 2 left open
    close_bodies = [json.loads(c.request.content) for c in update.calls[3:]]
    assert close_bodies == [{"state": "closed", "state_reason": "not_planned"}]
    assert json.loads(comment.calls[0].request.content) == {"body": "Closing as stale."}


@pytest.mark.anyio
async def test_bulk_helpers_check_their_input_before_sending() -> None:
    async with AsyncGitHubClient(token="t") as gh:
        with pytest.raises(ValueError, match="issue 2 is listed more than once"):
            await gh.bulk_add_labels("o", "r", [1, 2, 2], ["x"])
        with pytest.raises(TypeError, match="positive int, got str '4'"):
            await gh.bulk_close_issues("o", "r", [1, "4"])  # type: ignore[list-item]
        with pytest.raises(ValueError, match="labels must be a non-empty list"):
            await gh.bulk_add_labels("o", "r", [1], "bug")
        with pytest.raises(ValueError, match="at least one field"):
            await gh.bulk_update_issues("o", "r", [1])
        with pytest.raises(TypeError, match="assignees must be a list of str"):
            await gh.bulk_update_issues("o", "r", [1], assignees="octocat")


# -- the blocking client ------------------------------------------------------------------------------


def test_sync_batch_runs_calls_in_order_without_threads() -> None:
    threads: set[int] = set()
    reports: list[tuple[int, int]] = []

    def call(i: int) -> int:
        threads.add(threading.get_ident())
        if i == 2:
            raise ValueError("two")
        return i * 10

    with GitHubClient(token="t") as gh:
        results = gh.batch([(call, {"i": i}) for i in range(4)] + [lambda: 99],
                           on_progress=lambda p: reports.append((p.done, p.failed)))
        stopped = gh.batch([(call, {"i": i}) for i in range(4)], fail_fast=True)
        with pytest.raises(TypeError, match=r"is async; use AsyncGitHubClient\.batch"):
            gh.batch([(value, {"x": 1})])
        coro = value(1)
        with pytest.raises(TypeError, match=r"awaitables belong to AsyncGitHubClient\.batch"):
            gh.batch([coro])
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED

    assert results[:2] == [0, 10] and results[3:] == [30, 99] and isinstance(results[2], ValueError)
    assert threads == {threading.get_ident()}
    assert reports == [(0, 0), (1, 0), (2, 0), (3, 1), (4, 1), (5, 1)]
    assert stopped[:2] == [0, 10] and isinstance(stopped[2], ValueError)
    assert isinstance(stopped[3], BatchCancelledError) and not stopped[3].started


def test_sync_bulk_helpers() -> None:
    with respx.mock(base_url="https://api.github.com") as mock:
        mock.post(path__regex=r"^/repos/o/r/issues/\d+/labels$").respond(200, json=[label("x")])
        mock.patch(path__regex=r"^/repos/o/r/issues/(?P<n>\d+)$").mock(
            side_effect=lambda request, n: httpx.Response(200, json=issue_json(int(n), **json.loads(request.content)))
        )
        with GitHubClient(token="t", **FAST) as gh:
            added = gh.bulk_add_labels("o", "r", [5, 6], ["x"])
            closed = gh.bulk_close_issues("o", "r", [5])
            updated = gh.bulk_update_issues("o", "r", [6], title="new")
    assert [lb.name for lb in added[6]] == ["x"]  # type: ignore[union-attr]
    assert closed[5].state == "closed"  # type: ignore[union-attr]
    assert updated[6].title == "new"  # type: ignore[union-attr]
