"""Fault injection against a real HTTP server on 127.0.0.1 (issue 3, "Must show").

The server (:mod:`fault_server`) is scripted per method and path: 5xx with and without
``Retry-After``, dropped and reset connections, reads stalled past the client's timeout, primary
and secondary rate limits, ETags answered with 304, 401 for stale tokens, a port that refuses
connections for a while. It records every request it receives, so each test asserts what the
*server saw*: how many attempts, with which headers, at which moment.

Every behavioural test runs twice, with :class:`AsyncGitHubClient` and with the blocking
:class:`GitHubClient` (driven from a worker thread). Tests stay fast through configuration only
(small backoff, short cool-downs, short secondary waits, a short read timeout); the pipeline's
logic is never patched, and the waits that come from headers (``retry-after: 1``, a primary reset
a few seconds ahead) are real waits, measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from email.utils import formatdate
from itertools import pairwise
from typing import Any

import httpx
import pytest
from fault_server import ISSUE, ISSUE_PATH, ISSUES_PATH, WRITES, Drop, FaultServer, Reply, Seen, Stall, statuses

from githubapp import AsyncGitHubClient, ClientConfig, GitHubClient
from githubapp.auth import Auth
from githubapp.errors import (
    AsyncGitHubRateLimitError,
    BadRequestError,
    CircuitOpenError,
    ForbiddenError,
    GoneError,
    NotFoundError,
    ServerError,
    TransportError,
    UnauthorizedError,
    ValidationFailedError,
)
from githubapp.http.state import BreakerStats, PipelineState, PipelineStats

pytestmark = pytest.mark.anyio

TOKEN = "ghp_faultInjectionToken0001"
OTHER_TOKEN = "ghp_faultInjectionToken0002"
SECONDARY_MESSAGE = {
    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
}
#: fast, but every mechanism on: small backoff, no write spacing, a breaker that the tests which
#: are not about it never reach, a read timeout short enough for stalls to be cheap
FAST: dict[str, Any] = {
    "retry_attempts": 3,
    "retry_backoff": 0.01,
    "retry_max_delay": 5.0,
    "write_spacing": 0.0,
    "breaker_threshold": 100,
    "max_rate_limit_wait": 10.0,
    "secondary_rate_limit_wait": 0.2,
    "timeout": 2.0,
}
#: slack for the scheduling of two processes' worth of threads on a busy 2-core machine
SLACK = 0.05


# -- the server and the clients ------------------------------------------------------------------
@pytest.fixture(scope="module")
def fault_server() -> Any:
    server = FaultServer().start()
    yield server
    server.stop()


@pytest.fixture
def server(fault_server: FaultServer) -> Any:
    fault_server.reset()
    fault_server.resource(ISSUE_PATH, ISSUE)
    fault_server.resource(ISSUES_PATH, {"items": [ISSUE]})  # the collection
    yield fault_server
    fault_server.reset()


class Api:
    """One client, async or blocking, driven from async tests (the blocking one in a worker thread,
    so two calls can be in flight at once for both kinds)."""

    def __init__(self, kind: str, gh: AsyncGitHubClient | GitHubClient) -> None:
        self.kind = kind
        self.gh = gh

    async def run(self, call: Callable[[Any], Any]) -> Any:
        """``await api.run(lambda gh: gh.issues.get("o", "r", 1))`` for either kind of client."""
        if self.kind == "async":
            return await call(self.gh)
        return await asyncio.to_thread(call, self.gh)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.run(lambda gh: gh.request(method, path, **kwargs))  # type: ignore[no-any-return]

    async def get(self, path: str = ISSUE_PATH) -> httpx.Response:
        return await self.request("GET", path)

    @property
    def stats(self) -> PipelineStats:
        return self.gh.stats

    @property
    def breaker(self) -> BreakerStats:
        (only,) = self.gh.stats.breakers.values()
        return only


Connect = Callable[..., Api]


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def connect(server: FaultServer, kind: str) -> AsyncIterator[Connect]:
    """``connect(**settings)`` -> an :class:`Api` on the fault server (``FAST`` settings by default)."""
    made: list[AsyncGitHubClient | GitHubClient] = []

    def make(*, token: str | None = TOKEN, **settings: Any) -> Api:
        options: dict[str, Any] = {"base_url": server.url, **FAST, **settings}
        if "auth" not in options:
            options["token"] = token
        gh = AsyncGitHubClient(**options) if kind == "async" else GitHubClient(**options)
        made.append(gh)
        return Api(kind, gh)

    yield make
    for gh in made:
        if isinstance(gh, AsyncGitHubClient):
            await gh.aclose()
        else:
            gh.close()


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the server"
        await asyncio.sleep(0.005)


async def settle() -> None:
    """Give a client that (wrongly) retried in the background the time to do so (backoff is 0.01 s)."""
    await asyncio.sleep(0.05)


def gaps(seen: list[Seen]) -> list[float]:
    return [b.at - a.at for a, b in pairwise(seen)]


def label(fault: Any) -> str:
    """What the server's log says for a scripted fault."""
    if isinstance(fault, Drop):
        return "reset" if fault.reset else "drop"
    return "stall" if isinstance(fault, Stall) else str(fault.status)


def check_counts(api: Api, server: FaultServer, *, retries: int, waits: int | None = None) -> None:
    """``gh.stats`` agrees with the server's log: every attempt the server saw was counted once."""
    stats = api.stats
    assert stats.requests == len(server.requests())
    assert stats.retries == retries
    if waits is not None:
        assert stats.waits == waits


# -- reads: retried until they succeed, within their budget -------------------------------------
READ_FAULTS: dict[str, list[Any]] = {
    "500": [Reply(500)],
    "502": [Reply(502)],
    "503": [Reply(503)],
    "503 retry-after 0": [Reply(503, {"retry-after": "0"})],
    "dropped connection": [Drop()],
    "reset connection": [Drop(reset=True)],
    "read timeout": [Stall(1.0)],
    "three in a row": [Reply(502), Drop(), Stall(1.0)],
}


@pytest.mark.parametrize("faults", READ_FAULTS.values(), ids=READ_FAULTS.keys())
async def test_get_succeeds_within_its_budget(connect: Connect, server: FaultServer, faults: list[Any]) -> None:
    api = connect(retry_attempts=3, timeout=0.4)
    server.script("GET", ISSUE_PATH, *faults)

    issue = await api.run(lambda gh: gh.issues.get("o", "r", 1))

    assert issue.title == "first" and issue.number == 1
    seen = server.requests(ISSUE_PATH)
    assert statuses(seen) == [label(f) for f in faults] + ["200"]
    assert all(s.method == "GET" and s.token == TOKEN for s in seen)
    check_counts(api, server, retries=len(faults), waits=len(faults))
    assert api.stats.cache.misses == 1 and api.stats.cache.stores == 1


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        ([Reply(503), Reply(500), Reply(502)], ServerError),
        ([Reply(500), Reply(503), Drop()], TransportError),
        ([Drop(), Reply(500), Stall(1.0)], TransportError),
    ],
    ids=["5xx", "5xx then dropped", "read timeout last"],
)
async def test_get_gives_up_when_its_budget_is_spent(
    connect: Connect, server: FaultServer, faults: list[Any], error: type[Exception]
) -> None:
    api = connect(retry_attempts=2, timeout=0.4)
    server.script("GET", ISSUE_PATH, *faults)  # a 4th attempt would succeed

    with pytest.raises(error) as caught:
        await api.get()
    await settle()

    assert len(server.requests(ISSUE_PATH)) == 3  # the first try and 2 retries, never a 4th
    if isinstance(caught.value, ServerError):
        assert caught.value.status_code == 502 and caught.value.method == "GET"
    check_counts(api, server, retries=2, waits=2)


async def test_5xx_retry_after_is_honoured(connect: Connect, server: FaultServer) -> None:
    api = connect()
    server.script("GET", ISSUE_PATH, Reply(503, {"retry-after": "1"}))

    started = time.monotonic()
    response = await api.get()
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    seen = server.requests(ISSUE_PATH)
    assert statuses(seen) == ["503", "200"]
    assert gaps(seen)[0] >= 1.0 - SLACK and elapsed >= 1.0
    check_counts(api, server, retries=1, waits=1)
    assert 1.0 - SLACK <= api.stats.wait_seconds <= 1.0 + SLACK
    assert api.stats.rate_limit_waits == 0


@pytest.mark.parametrize("kind", ["async"])  # the date is parsed by a function both clients share
async def test_5xx_retry_after_as_an_http_date_is_honoured(connect: Connect, server: FaultServer) -> None:
    api = connect()
    # an HTTP date has whole seconds: 2 s ahead is 1-2 s from now, and not before that second
    not_before = int(time.time()) + 2
    server.script("GET", ISSUE_PATH, Reply(503, {"retry-after": formatdate(not_before, usegmt=True)}))

    response = await api.get()

    assert response.status_code == 200
    rejected, accepted = server.requests(ISSUE_PATH)
    assert rejected.answer == "503" and accepted.wall >= not_before - SLACK
    assert gaps([rejected, accepted])[0] >= 1.0 - SLACK
    check_counts(api, server, retries=1, waits=1)


async def test_5xx_retry_after_beyond_the_cap_raises_without_waiting(connect: Connect, server: FaultServer) -> None:
    api = connect(retry_max_delay=5.0)
    server.script("GET", ISSUE_PATH, Reply(503, {"retry-after": "120"}))

    started = time.monotonic()
    with pytest.raises(ServerError) as caught:
        await api.get()

    assert time.monotonic() - started < 1.0
    assert caught.value.status_code == 503
    assert len(server.requests(ISSUE_PATH)) == 1
    check_counts(api, server, retries=0, waits=0)


# -- writes: never sent twice when the server may have acted ------------------------------------
WRITE_FAULTS: dict[str, tuple[Any, type[Exception]]] = {
    "500": (Reply(500), ServerError),
    "502": (Reply(502), ServerError),
    "503 retry-after 0": (Reply(503, {"retry-after": "0"}), ServerError),
    "504": (Reply(504), ServerError),
    "dropped connection": (Drop(), TransportError),
    "reset connection": (Drop(reset=True), TransportError),
    "read timeout": (Stall(1.0), TransportError),
}


@pytest.mark.parametrize(("fault", "error"), WRITE_FAULTS.values(), ids=WRITE_FAULTS.keys())
@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_write_is_never_sent_twice(
    connect: Connect, server: FaultServer, method: str, fault: Any, error: type[Exception]
) -> None:
    api = connect(retry_attempts=3, timeout=0.4)
    path, body = WRITES[method]
    server.script(method, path, fault)  # a second attempt would succeed: the client must not make it

    with pytest.raises(error) as caught:
        await api.request(method, path, json=body)
    await settle()

    seen = server.requests(path)
    assert [s.method for s in seen] == [method]
    assert seen[0].json() == body
    assert caught.value.method == method  # type: ignore[attr-defined]
    check_counts(api, server, retries=0, waits=0)


@pytest.mark.parametrize("fault", [Reply(502), Drop()], ids=["502", "dropped connection"])
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_put_and_delete_are_writes_too(connect: Connect, server: FaultServer, method: str, fault: Any) -> None:
    api = connect()
    path, body = WRITES[method]
    server.script(method, path, fault)

    with pytest.raises((ServerError, TransportError)):
        await api.request(method, path, json=body)
    await settle()

    assert len(server.requests(path, method)) == 1
    check_counts(api, server, retries=0)


RATE_LIMIT_REJECTIONS = {
    "429 retry-after 1": Reply(429, {"retry-after": "1"}, json={"message": "Too Many Requests"}),
    "403 secondary retry-after 1": Reply(403, {"retry-after": "1"}, json=SECONDARY_MESSAGE),
}


@pytest.mark.parametrize("rejection", RATE_LIMIT_REJECTIONS.values(), ids=RATE_LIMIT_REJECTIONS.keys())
async def test_post_rejected_by_a_rate_limit_is_retried_after_retry_after(
    connect: Connect, server: FaultServer, rejection: Reply
) -> None:
    api = connect()
    server.script("POST", ISSUES_PATH, rejection)

    started = time.monotonic()
    response = await api.request("POST", ISSUES_PATH, json={"title": "new"})
    elapsed = time.monotonic() - started

    assert response.status_code == 201 and response.json() == {"id": 1, "title": "new"}
    seen = server.requests(ISSUES_PATH, "POST")
    assert statuses(seen) == [str(rejection.status), "201"]  # created exactly once
    assert gaps(seen)[0] >= 1.0 - SLACK and elapsed >= 1.0
    check_counts(api, server, retries=1, waits=1)
    assert api.stats.rate_limit_waits == 1 and 1.0 - SLACK <= api.stats.wait_seconds <= 1.0 + SLACK


async def test_post_is_retried_after_a_connect_error(connect: Connect, server: FaultServer) -> None:
    api = connect(retry_attempts=8, retry_backoff=0.05, retry_max_delay=0.2)
    server.offline(0.3)  # connections refused for 0.3 s: the request provably reached nobody

    started = time.monotonic()
    response = await api.request("POST", ISSUES_PATH, json={"title": "new"})

    assert time.monotonic() - started >= 0.3 - SLACK
    assert response.status_code == 201
    assert statuses(server.requests(ISSUES_PATH, "POST")) == ["201"]
    stats = api.stats
    assert stats.retries >= 1 and stats.requests == stats.retries + 1 and stats.waits == stats.retries


# -- rate limits: the waits honour the headers ---------------------------------------------------
async def test_secondary_limit_pauses_the_whole_identity(connect: Connect, server: FaultServer, kind: str) -> None:
    state = PipelineState(ClientConfig(**FAST))
    api = connect(state=state)
    other = connect(token=OTHER_TOKEN, state=state)  # same state, another identity: not paused
    server.resource("/repos/o/r/issues/2", {**ISSUE, "number": 2})
    server.resource("/repos/o/other/issues/3", {**ISSUE, "number": 3})
    server.script("GET", ISSUE_PATH, Reply(403, {"retry-after": "1"}, json=SECONDARY_MESSAGE))

    first = asyncio.ensure_future(api.get(ISSUE_PATH))
    await until(lambda: len(server.requests()) == 1)
    rejected_at = server.requests()[0].at
    await asyncio.sleep(0.1)  # the client has read the 403 and paused its identity
    second = asyncio.ensure_future(api.get("/repos/o/r/issues/2"))  # same identity, another resource
    third = await other.get("/repos/o/other/issues/3")
    responses = await asyncio.gather(first, second)

    assert [r.status_code for r in responses] == [200, 200] and third.status_code == 200
    by_token = [s for s in server.requests() if s.token == TOKEN]
    assert [s.path for s in by_token[:1]] == [ISSUE_PATH]
    assert sorted(s.path for s in by_token[1:]) == [ISSUE_PATH, "/repos/o/r/issues/2"]
    # nothing of this identity between the 403 and the end of the pause; the other one went on
    assert all(s.at >= rejected_at + 1.0 - SLACK for s in by_token[1:])
    (of_other,) = [s for s in server.requests() if s.token == OTHER_TOKEN]
    assert of_other.at < rejected_at + 0.5
    stats = state.stats()
    assert stats.requests == 4 and stats.retries == 1
    assert stats.rate_limit_waits == 2 and stats.waits == 2  # the rejected request and the held one


@pytest.mark.parametrize(
    "rejection",
    [Reply(403, json=SECONDARY_MESSAGE), Reply(429, json={"message": "Too Many Requests"})],
    ids=["403 secondary message", "429 without retry-after"],
)
async def test_secondary_limit_without_retry_after_backs_off(
    connect: Connect, server: FaultServer, rejection: Reply
) -> None:
    api = connect(secondary_rate_limit_wait=0.2, retry_attempts=3)
    server.script("GET", ISSUE_PATH, rejection, rejection)

    started = time.monotonic()
    response = await api.get()
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    seen = server.requests(ISSUE_PATH)
    assert statuses(seen) == [str(rejection.status)] * 2 + ["200"]
    first, second = gaps(seen)
    # 0.2 s, then doubled: each with up to 25 % jitter, never less than asked
    assert 0.2 - SLACK <= first <= 0.25 + 3 * SLACK
    assert 0.4 - SLACK <= second <= 0.5 + 3 * SLACK
    assert elapsed >= 0.6
    check_counts(api, server, retries=2, waits=2)
    assert 0.6 - SLACK <= api.stats.wait_seconds <= 0.75 and api.stats.rate_limit_waits == 2

    # the success reset the doubling: the next secondary limit waits 0.2 s again
    server.script("GET", ISSUES_PATH, rejection)
    await api.get(ISSUES_PATH)
    (gap,) = gaps(server.requests(ISSUES_PATH))
    assert 0.2 - SLACK <= gap <= 0.25 + 3 * SLACK


def primary_limit(status: int, reset: int) -> Reply:
    return Reply(
        status,
        {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": "5000",
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-resource": "core",
        },
        json={"message": "API rate limit exceeded for installation ID 1.", "documentation_url": "https://docs.github.com/rest"},
    )


async def test_primary_limit_waits_until_the_reset_and_holds_the_identity(
    connect: Connect, server: FaultServer
) -> None:
    api = connect(max_rate_limit_wait=10.0)
    server.resource("/repos/o/r/issues/2", {**ISSUE, "number": 2})
    reset = int(time.time()) + 2  # 1-2 s ahead; the client waits until reset + 1 s
    server.script("GET", ISSUE_PATH, primary_limit(403, reset))

    started = time.time()
    first = asyncio.ensure_future(api.get(ISSUE_PATH))
    await until(lambda: len(server.requests()) == 1)
    await asyncio.sleep(0.1)
    second = asyncio.ensure_future(api.get("/repos/o/r/issues/2"))  # same identity and resource: held
    responses = await asyncio.gather(first, second)
    finished = time.time()

    assert [r.status_code for r in responses] == [200, 200]
    seen = server.requests()
    assert statuses(seen) == ["403", "200", "200"]
    assert all(s.wall >= reset + 1.0 - SLACK for s in seen[1:])  # nothing sent during the hold
    assert finished >= reset + 1.0 - SLACK and finished - started >= 2.0 - SLACK
    check_counts(api, server, retries=1, waits=2)
    assert api.stats.rate_limit_waits == 2


async def test_exhausted_primary_limit_holds_the_next_request_before_sending(
    connect: Connect, server: FaultServer
) -> None:
    api = connect(max_rate_limit_wait=10.0)
    reset = int(time.time()) + 1
    ok_but_exhausted = primary_limit(200, reset)
    server.script("GET", ISSUE_PATH, Reply(200, ok_but_exhausted.headers))

    await api.get()  # 200, but remaining is 0 now
    await api.get()  # not sent before reset + 1 s

    first, second = server.requests(ISSUE_PATH)
    assert first.answer == "200" and second.wall >= reset + 1.0 - SLACK
    check_counts(api, server, retries=0, waits=1)
    assert api.stats.rate_limit_waits == 1


@pytest.mark.parametrize("status", [403, 429])
async def test_primary_reset_beyond_max_wait_raises_with_reset_time(
    connect: Connect, server: FaultServer, status: int
) -> None:
    api = connect(max_rate_limit_wait=5.0)
    reset = int(time.time()) + 120
    server.script("GET", ISSUE_PATH, primary_limit(status, reset))

    started = time.monotonic()
    with pytest.raises(AsyncGitHubRateLimitError) as caught:
        await api.get()
    assert time.monotonic() - started < 1.0  # no waiting
    assert caught.value.reset_time == datetime.fromtimestamp(reset, UTC)
    assert caught.value.status_code == status and not caught.value.secondary
    assert len(server.requests()) == 1

    # the identity stays held: further requests fail at once, without being sent
    for method, path in (("GET", "/repos/o/r/issues/2"), ("POST", ISSUES_PATH)):
        with pytest.raises(AsyncGitHubRateLimitError) as held:
            await api.request(method, path, json={"title": "x"} if method == "POST" else None)
        assert held.value.reset_time == datetime.fromtimestamp(reset, UTC)
    assert time.monotonic() - started < 1.0
    assert len(server.requests()) == 1
    check_counts(api, server, retries=0, waits=0)


async def test_secondary_retry_after_beyond_max_wait_raises_and_holds_the_identity(
    connect: Connect, server: FaultServer
) -> None:
    api = connect(max_rate_limit_wait=5.0)
    server.script("GET", ISSUE_PATH, Reply(403, {"retry-after": "120"}, json=SECONDARY_MESSAGE))

    started = time.monotonic()
    with pytest.raises(AsyncGitHubRateLimitError) as caught:
        await api.get()
    assert caught.value.secondary and caught.value.retry_after == 120
    assert time.monotonic() - started < 1.0

    # GitHub asked this identity to wait two minutes: its next request must not be sent either
    with pytest.raises(AsyncGitHubRateLimitError) as held:
        await api.get(ISSUES_PATH)
    assert held.value.secondary and held.value.retry_after is not None and held.value.retry_after > 100
    assert len(server.requests()) == 1


# -- the circuit breaker -------------------------------------------------------------------------
COOLDOWN = 0.3
BREAKER: dict[str, Any] = {"breaker_threshold": 3, "breaker_cooldown": COOLDOWN, "retry_attempts": 0, "timeout": 0.3}


async def test_breaker_opens_fails_fast_and_closes_after_a_probe(connect: Connect, server: FaultServer) -> None:
    api = connect(**BREAKER)
    server.script("GET", ISSUE_PATH, Reply(500), Drop(), Stall(1.0))

    for error in (ServerError, TransportError, TransportError):
        with pytest.raises(error):
            await api.get()
    assert api.breaker == BreakerStats("open", 3, 1)
    opened_at = time.monotonic()

    for method, path in (("GET", ISSUE_PATH), ("POST", ISSUES_PATH), ("GET", "/repos/o/r/issues/2")):
        with pytest.raises(CircuitOpenError) as caught:
            await api.request(method, path)
        assert 0 < caught.value.retry_in <= COOLDOWN and caught.value.failures == 3
    assert len(server.requests()) == 3  # failing fast: nothing sent

    await asyncio.sleep(COOLDOWN - (time.monotonic() - opened_at) + SLACK)
    response = await api.get()  # the probe
    assert response.status_code == 200
    assert api.breaker == BreakerStats("closed", 0, 1)
    assert (await api.get()).status_code == 200
    assert statuses(server.requests()) == ["500", "drop", "stall", "200", "304"]
    check_counts(api, server, retries=0)


async def test_breaker_half_open_lets_one_probe_through_and_reopens_when_it_fails(
    connect: Connect, server: FaultServer
) -> None:
    api = connect(**BREAKER)
    server.resource("/repos/o/r/issues/2", {**ISSUE, "number": 2})
    server.script("GET", ISSUE_PATH, Reply(500), Reply(500), Reply(503), Reply(502, delay=0.1))

    for _ in range(3):
        with pytest.raises(ServerError):
            await api.get()
    await asyncio.sleep(COOLDOWN + SLACK)

    probe = asyncio.ensure_future(api.get())  # answered after 0.1 s
    await until(lambda: len(server.requests()) == 4)
    with pytest.raises(CircuitOpenError):  # one probe at a time
        await api.get("/repos/o/r/issues/2")
    with pytest.raises(ServerError):
        await probe
    assert api.breaker == BreakerStats("open", 4, 2)
    with pytest.raises(CircuitOpenError):  # the failed probe opened it again, for a new cool-down
        await api.get("/repos/o/r/issues/2")

    await asyncio.sleep(COOLDOWN + SLACK)
    assert (await api.get("/repos/o/r/issues/2")).status_code == 200
    assert api.breaker == BreakerStats("closed", 0, 2)
    assert len(server.requests()) == 5 and api.stats.breaker_trips == 2
    check_counts(api, server, retries=0)


async def test_breaker_never_counts_4xx(connect: Connect, server: FaultServer) -> None:
    api = connect(**BREAKER)
    client_errors = [
        (Reply(400), BadRequestError),
        (Reply(401), UnauthorizedError),
        (Reply(403, json={"message": "Resource not accessible by integration"}), ForbiddenError),
        (Reply(404), NotFoundError),
        (Reply(410), GoneError),
        (Reply(422, json={"message": "Validation Failed", "errors": []}), ValidationFailedError),
    ]
    server.script("GET", ISSUE_PATH, *(reply for reply, _ in client_errors))
    for _, error in client_errors:
        with pytest.raises(error):
            await api.get()
    assert api.breaker == BreakerStats("closed", 0, 0)

    # an answer breaks a run of failures: 500, 500, 404, 500 is one failure in a row, not three
    server.script("GET", ISSUE_PATH, Reply(500), Reply(500), Reply(404), Reply(500))
    for error in (ServerError, ServerError, NotFoundError, ServerError):
        with pytest.raises(error):
            await api.get()
    assert api.breaker == BreakerStats("closed", 1, 0)
    server.script("GET", ISSUE_PATH, Reply(502), Reply(503))
    for _ in range(2):
        with pytest.raises(ServerError):
            await api.get()
    assert api.breaker == BreakerStats("open", 3, 1)
    assert len(server.requests()) == 12
    check_counts(api, server, retries=0)


class FailingOnceAuth(Auth):
    """A credential whose next lookup fails (as an installation-token fetch can) when armed."""

    identity = "failing-once"

    def __init__(self) -> None:
        self.armed = False

    def authorization(self) -> str:
        if self.armed:
            self.armed = False
            raise RuntimeError("token endpoint unreachable")
        return f"Bearer {TOKEN}"


async def test_breaker_probe_failing_in_auth_does_not_wedge_the_breaker(connect: Connect, server: FaultServer) -> None:
    auth = FailingOnceAuth()
    api = connect(auth=auth, **BREAKER)
    server.script("GET", ISSUE_PATH, Reply(500), Reply(500), Reply(500))
    for _ in range(3):
        with pytest.raises(ServerError):
            await api.get()
    await asyncio.sleep(COOLDOWN + SLACK)

    auth.armed = True
    with pytest.raises(RuntimeError):
        await api.get()  # the probe: its credential lookup fails before anything is sent
    await asyncio.sleep(COOLDOWN + SLACK)  # even after another cool-down ...
    response = await api.get()  # ... a new probe must be let through
    assert response.status_code == 200


# -- the conditional-request cache ---------------------------------------------------------------
async def test_304_is_served_from_the_cache_and_counted(connect: Connect, server: FaultServer) -> None:
    api = connect()

    first = await api.run(lambda gh: gh.issues.get("o", "r", 1))
    second = await api.run(lambda gh: gh.issues.get("o", "r", 1))
    raw = await api.get()

    assert second == first and second.title == "first"
    assert raw.status_code == 200 and raw.json() == ISSUE
    seen = server.requests(ISSUE_PATH)
    assert statuses(seen) == ["200", "304", "304"]
    etag = '"repos-o-r-issues-1-v1"'
    assert [s.headers.get("if-none-match") for s in seen] == [None, etag, etag]
    cache = api.stats.cache
    assert (cache.misses, cache.stores, cache.revalidations, cache.hits, cache.entries) == (1, 1, 2, 2, 1)
    check_counts(api, server, retries=0, waits=0)


async def test_304_after_a_retried_5xx_is_served_from_the_cache(connect: Connect, server: FaultServer) -> None:
    api = connect()
    await api.get()
    server.script("GET", ISSUE_PATH, Reply(503), Drop())

    response = await api.get()

    assert response.json() == ISSUE
    seen = server.requests(ISSUE_PATH)
    assert statuses(seen) == ["200", "503", "drop", "304"]
    assert all(s.headers.get("if-none-match") for s in seen[1:])  # every retry revalidates
    check_counts(api, server, retries=2, waits=2)
    assert api.stats.cache.revalidations == 1


async def test_successful_writes_invalidate_the_resource_and_its_collection(
    connect: Connect, server: FaultServer
) -> None:
    api = connect()
    await api.get(ISSUE_PATH)
    await api.get(ISSUES_PATH)
    assert api.stats.cache.entries == 2

    # a failed PATCH changes nothing: the entry stays and is revalidated
    server.script("PATCH", ISSUE_PATH, Reply(422, json={"message": "Validation Failed"}))
    with pytest.raises(ValidationFailedError):
        await api.run(lambda gh: gh.issues.update("o", "r", 1, title="rejected"))
    assert (await api.get(ISSUE_PATH)).json()["title"] == "first"
    assert server.requests(ISSUE_PATH, "GET")[-1].answer == "304"

    updated = await api.run(lambda gh: gh.issues.update("o", "r", 1, title="second"))
    assert updated.title == "second"
    assert api.stats.cache.invalidations == 2 and api.stats.cache.entries == 0  # resource and collection

    after = await api.run(lambda gh: gh.issues.get("o", "r", 1))
    await api.get(ISSUES_PATH)
    assert after.title == "second"
    last_get = server.requests(ISSUE_PATH, "GET")[-1]
    assert last_get.answer == "200" and "if-none-match" not in last_get.headers
    last_list = server.requests(ISSUES_PATH, "GET")[-1]
    assert last_list.answer == "200" and "if-none-match" not in last_list.headers

    # a POST to the collection invalidates it too
    await api.get(ISSUES_PATH)
    assert server.requests(ISSUES_PATH, "GET")[-1].answer == "304"
    await api.request("POST", ISSUES_PATH, json={"title": "another"})
    await api.get(ISSUES_PATH)
    assert "if-none-match" not in server.requests(ISSUES_PATH, "GET")[-1].headers
    check_counts(api, server, retries=0)


async def test_two_identities_never_share_a_cache_entry(connect: Connect, server: FaultServer) -> None:
    state = PipelineState(ClientConfig(**FAST))
    alice = connect(token=TOKEN, state=state)
    bob = connect(token=OTHER_TOKEN, state=state)
    # the same URL and the same ETag for both, but each token sees its own body: a shared entry
    # would be revalidated by the other identity's 304 and hand it the wrong body
    server.resource(ISSUE_PATH, ISSUE, per_token={TOKEN: {**ISSUE, "title": "alice's"}, OTHER_TOKEN: {**ISSUE, "title": "bob's"}})

    titles = []
    for api in (alice, bob, alice, bob):
        issue = await api.run(lambda gh: gh.issues.get("o", "r", 1))
        titles.append(issue.title)

    assert titles == ["alice's", "bob's", "alice's", "bob's"]
    seen = server.requests(ISSUE_PATH)
    assert [s.token for s in seen] == [TOKEN, OTHER_TOKEN, TOKEN, OTHER_TOKEN]
    assert [s.headers.get("if-none-match") is not None for s in seen] == [False, False, True, True]
    assert statuses(seen) == ["200", "200", "304", "304"]
    cache = state.stats().cache
    assert (cache.entries, cache.stores, cache.revalidations, cache.misses) == (2, 2, 2, 2)


async def test_fresh_window_serves_without_a_request(connect: Connect, server: FaultServer) -> None:
    api = connect(cache_fresh_for=5.0, cache_ttl=10.0)

    first = await api.get()
    second = await api.get()

    assert second.json() == first.json() == ISSUE
    assert len(server.requests()) == 1
    assert api.stats.requests == 1 and api.stats.cache.hits == 1 and api.stats.cache.revalidations == 0


async def test_expired_entries_are_not_revalidated(connect: Connect, server: FaultServer) -> None:
    api = connect(cache_ttl=0.2)

    await api.get()
    await asyncio.sleep(0.25)
    await api.get()

    assert [s.headers.get("if-none-match") for s in server.requests()] == [None, None]
    assert api.stats.cache.evictions == 1 and api.stats.cache.misses == 2


async def test_a_304_success_resets_the_secondary_backoff(connect: Connect, server: FaultServer) -> None:
    api = connect(secondary_rate_limit_wait=0.2)
    await api.get()  # cached
    server.script("GET", ISSUE_PATH, Reply(403, json=SECONDARY_MESSAGE))
    await api.get()  # 403, waits ~0.2 s, then 304: a success
    server.script("GET", ISSUE_PATH, Reply(403, json=SECONDARY_MESSAGE))
    await api.get()  # must wait ~0.2 s again, not ~0.4 s

    seen = server.requests(ISSUE_PATH)
    assert statuses(seen) == ["200", "403", "304", "403", "304"]
    assert gaps(seen)[3] <= 0.25 + 3 * SLACK


# -- auth: a 401 drops the token and retries once with a fresh one -------------------------------
class RotatingAuth(Auth):
    """Hands out its tokens in turn; each 401 moves to the next (like an installation token refresh)."""

    identity = "rotating-installation"

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.invalidated: list[str] = []
        self._lock = threading.Lock()

    def authorization(self) -> str:
        with self._lock:
            return f"Bearer {self.tokens[0]}"

    def invalidate(self, authorization: str) -> bool:
        with self._lock:
            self.invalidated.append(authorization)
            if len(self.invalidated) > 5:  # a client that keeps refreshing would loop forever: fail instead
                raise AssertionError(f"401 refreshed {len(self.invalidated)} times for one request")
            if authorization == f"Bearer {self.tokens[0]}" and len(self.tokens) > 1:
                self.tokens.pop(0)
            return True


@pytest.mark.parametrize(("method", "path", "status"), [("GET", ISSUE_PATH, "200"), ("POST", ISSUES_PATH, "201")])
async def test_401_refreshes_the_token_and_retries_once(
    connect: Connect, server: FaultServer, method: str, path: str, status: str
) -> None:
    server.tokens = {"fresh-token"}  # the server only accepts the new token
    auth = RotatingAuth("stale-token", "fresh-token")
    api = connect(auth=auth)

    response = await api.request(method, path, json={"title": "t"} if method == "POST" else None)

    assert str(response.status_code) == status
    seen = server.requests(path, method)
    assert [(s.token, s.answer) for s in seen] == [("stale-token", "401"), ("fresh-token", status)]
    assert auth.invalidated == ["Bearer stale-token"]
    assert api.stats.auth_refreshes == 1 and api.stats.requests == 2 and api.stats.retries == 0


async def test_401_after_a_refresh_is_raised(connect: Connect, server: FaultServer) -> None:
    server.tokens = {"never-valid"}
    api = connect(auth=RotatingAuth("stale-token", "fresh-token", "fresher-token"))

    with pytest.raises(UnauthorizedError) as caught:
        await api.get()

    assert caught.value.status_code == 401 and caught.value.message == "Bad credentials"
    assert [s.token for s in server.requests()] == ["stale-token", "fresh-token"]  # retried once only
    assert api.stats.auth_refreshes == 1


async def test_401_with_a_static_token_is_not_retried(connect: Connect, server: FaultServer) -> None:
    server.tokens = {"something-else"}
    api = connect()

    with pytest.raises(UnauthorizedError):
        await api.get()

    assert len(server.requests()) == 1 and api.stats.auth_refreshes == 0
    assert TOKEN not in repr(api.gh)


# -- throttle: write spacing and concurrency -----------------------------------------------------
async def test_writes_are_spaced_reads_are_not(connect: Connect, server: FaultServer) -> None:
    api = connect(write_spacing=0.3)

    started = time.monotonic()
    posts = [asyncio.ensure_future(api.request("POST", ISSUES_PATH, json={"title": f"t{i}"})) for i in range(3)]
    await until(lambda: len(server.requests(ISSUES_PATH)) == 1)
    read = await api.get()  # not a write: not spaced
    results = await asyncio.gather(*posts)

    assert [r.status_code for r in results] == [201, 201, 201]
    writes = server.requests(ISSUES_PATH, "POST")
    assert sorted(s.json()["title"] for s in writes) == ["t0", "t1", "t2"]
    assert all(gap >= 0.3 - SLACK for gap in gaps(writes))
    assert read.status_code == 200 and server.requests(ISSUE_PATH)[0].at < writes[1].at
    assert time.monotonic() - started >= 0.6 - SLACK
    check_counts(api, server, retries=0)


async def test_writes_held_by_a_rate_limit_stay_spaced_when_it_lifts(connect: Connect, server: FaultServer) -> None:
    api = connect(write_spacing=0.3)
    server.script("POST", ISSUES_PATH, Reply(403, {"retry-after": "1"}, json=SECONDARY_MESSAGE))

    first = asyncio.ensure_future(api.request("POST", ISSUES_PATH, json={"title": "a"}))
    await until(lambda: len(server.requests(ISSUES_PATH)) == 1)
    second = asyncio.ensure_future(api.request("POST", ISSUES_PATH, json={"title": "b"}))  # held by the pause
    results = await asyncio.gather(first, second)

    assert [r.status_code for r in results] == [201, 201]
    created = [s for s in server.requests(ISSUES_PATH, "POST") if s.answer == "201"]
    assert sorted(s.json()["title"] for s in created) == ["a", "b"]
    assert gaps(created)[0] >= 0.3 - SLACK


async def test_concurrency_is_bounded_per_identity(connect: Connect, server: FaultServer) -> None:
    api = connect(max_concurrency=2)
    paths = [f"/repos/o/r/issues/{n}" for n in range(1, 7)]
    for n, path in enumerate(paths, 1):
        server.resource(path, {**ISSUE, "number": n})
        server.script("GET", path, Reply(200, delay=0.15))

    started = time.monotonic()
    responses = await asyncio.gather(*(api.get(path) for path in paths))

    assert [r.json()["number"] for r in responses] == [1, 2, 3, 4, 5, 6]
    assert server.max_in_flight == 2
    assert time.monotonic() - started >= 3 * 0.15
    check_counts(api, server, retries=0, waits=0)


# -- the counters add up -------------------------------------------------------------------------
async def test_stats_match_what_happened(connect: Connect, server: FaultServer) -> None:
    api = connect(timeout=0.4, secondary_rate_limit_wait=0.1)
    server.script("GET", ISSUE_PATH, Reply(500), Stall(1.0), Reply(429, json={"message": "Too Many Requests"}))
    server.script("POST", ISSUES_PATH, Reply(502))

    await api.get()  # 500, stall, 429, 200: three retries, three waits (one for the rate limit)
    await api.get()  # 304
    with pytest.raises(ServerError):
        await api.request("POST", ISSUES_PATH, json={"title": "t"})  # not retried
    with contextlib.suppress(NotFoundError):
        await api.get("/nowhere")

    stats = api.stats
    assert stats.requests == len(server.requests()) == 7
    assert stats.retries == 3 and stats.waits == 3 and stats.rate_limit_waits == 1
    assert 0.1 <= stats.wait_seconds <= 0.1 * 1.25 + 0.01 + 0.02  # the rate-limit pause + two backoffs
    assert (stats.cache.misses, stats.cache.stores, stats.cache.revalidations, stats.cache.hits) == (2, 1, 1, 1)
    assert stats.auth_refreshes == 0
    assert stats.breakers == {server.url: BreakerStats("closed", 0, 0)}

