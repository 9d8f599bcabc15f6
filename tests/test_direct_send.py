"""The direct path of ``transport="aiohttp"`` (:class:`~githubapp.http.transports.AiohttpSender`).

An :class:`AsyncGitHubClient` that makes its own httpx client with ``transport="aiohttp"`` sends
each request straight to the aiohttp pool, past httpx's client machinery. It must behave as the
httpx path does: the fault scenarios of ``test_pipeline_faults.py`` (a representative subset,
against the same scripted server on 127.0.0.1: dropped and reset connections, reads stalled past
the timeout, 5xx, 304 revalidation, writes never sent twice, connect errors retried) and redirects
(``Authorization`` kept on the origin, dropped when leaving it; httpx's rules for the method and
the body). ``test_transports.py`` checks the wire format of the same path ("aiohttp-direct").
"""

from __future__ import annotations

import asyncio
import pickle
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from fault_server import ISSUE, ISSUE_PATH, ISSUES_PATH, WRITES, Drop, FaultServer, Reply, Stall, statuses
from hypothesis import given, settings
from hypothesis import strategies as st

from githubapp import AsyncGitHubClient
from githubapp.config import ClientConfig
from githubapp.errors import ServerError, TransportError
from githubapp.http.pipeline import build_httpx_request
from githubapp.http.transports import AiohttpSender, DirectResponse, _raw_headers, async_http_client

pytest.importorskip("aiohttp")

pytestmark = pytest.mark.anyio

TOKEN = "ghp_directSendToken0001"
FAST: dict[str, Any] = {
    "retry_attempts": 3, "retry_backoff": 0.01, "retry_max_delay": 5.0, "write_spacing": 0.0,
    "breaker_threshold": 100, "timeout": 0.4, "transport": "aiohttp",
}


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[FaultServer, FaultServer]]:
    """Two servers: two origins (the second one is where redirects leave to)."""
    first, second = FaultServer().start(), FaultServer().start()
    yield first, second
    first.stop()
    second.stop()


@pytest.fixture
def server(servers: tuple[FaultServer, FaultServer]) -> Iterator[FaultServer]:
    for each in servers:
        each.reset()
        each.resource(ISSUE_PATH, ISSUE)
    yield servers[0]
    for each in servers:
        each.reset()


@pytest.fixture
def other(servers: tuple[FaultServer, FaultServer], server: FaultServer) -> FaultServer:
    return servers[1]


Connect = Callable[..., AsyncGitHubClient]


@pytest.fixture
async def connect(server: FaultServer) -> AsyncIterator[Connect]:
    """``connect(**settings)`` -> a client on the fault server that sends with its AiohttpSender."""
    made: list[AsyncGitHubClient] = []

    def make(**settings: Any) -> AsyncGitHubClient:
        gh = AsyncGitHubClient(token=TOKEN, base_url=server.url, **{**FAST, **settings})
        assert isinstance(gh._pipeline.sender, AiohttpSender)
        made.append(gh)
        return gh

    yield make
    for gh in made:
        await gh.aclose()


async def settle() -> None:
    """Time for a client that (wrongly) retried in the background to do so."""
    await asyncio.sleep(0.05)


def label(fault: Any) -> str:
    if isinstance(fault, Drop):
        return "reset" if fault.reset else "drop"
    return "stall" if isinstance(fault, Stall) else str(fault.status)


# -- reads are retried until they succeed, within their budget -------------------------------------
READ_FAULTS: dict[str, list[Any]] = {
    "500": [Reply(500)],
    "503": [Reply(503)],
    "dropped connection": [Drop()],
    "reset connection": [Drop(reset=True)],
    "read timeout": [Stall(1.0)],
    "three in a row": [Reply(502), Drop(), Stall(1.0)],
}


@pytest.mark.parametrize("faults", READ_FAULTS.values(), ids=READ_FAULTS.keys())
async def test_get_succeeds_within_its_budget(connect: Connect, server: FaultServer, faults: list[Any]) -> None:
    gh = connect()
    server.script("GET", ISSUE_PATH, *faults)

    issue = await gh.issues.get("o", "r", 1)

    assert issue.title == "first" and issue.number == 1
    seen = server.requests(ISSUE_PATH)
    assert statuses(seen) == [label(f) for f in faults] + ["200"]
    assert all(s.method == "GET" and s.token == TOKEN for s in seen)
    assert gh.stats.requests == len(seen) and gh.stats.retries == len(faults)


@pytest.mark.parametrize(
    ("faults", "error", "kind"),
    [
        ([Reply(503), Reply(500), Reply(502)], ServerError, None),
        ([Reply(500), Reply(503), Drop()], TransportError, "RemoteProtocolError"),
        ([Drop(), Reply(500), Stall(1.0)], TransportError, "ReadTimeout"),
    ],
    ids=["5xx", "5xx then dropped", "read timeout last"],
)
async def test_get_gives_up_when_its_budget_is_spent(
    connect: Connect, server: FaultServer, faults: list[Any], error: type[Exception], kind: str | None
) -> None:
    gh = connect(retry_attempts=2)
    server.script("GET", ISSUE_PATH, *faults)  # a 4th attempt would succeed

    with pytest.raises(error) as caught:
        await gh.request("GET", ISSUE_PATH)
    await settle()

    assert len(server.requests(ISSUE_PATH)) == 3
    if kind is not None:
        assert str(caught.value).startswith(kind) and "after 3 attempts" in str(caught.value)
    assert gh.stats.retries == 2


# -- writes: never sent twice when the server may have acted ------------------------------------
WRITE_FAULTS: dict[str, tuple[Any, type[Exception]]] = {
    "502": (Reply(502), ServerError),
    "dropped connection": (Drop(), TransportError),
    "reset connection": (Drop(reset=True), TransportError),
    "read timeout": (Stall(1.0), TransportError),
}


@pytest.mark.parametrize(("fault", "error"), WRITE_FAULTS.values(), ids=WRITE_FAULTS.keys())
@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT"])
async def test_write_is_never_sent_twice(
    connect: Connect, server: FaultServer, method: str, fault: Any, error: type[Exception]
) -> None:
    gh = connect()
    path, body = WRITES[method]
    server.script(method, path, fault)  # a second attempt would succeed: the client must not make it

    with pytest.raises(error) as caught:
        await gh.request(method, path, json=body)
    await settle()

    seen = server.requests(path)
    assert [s.method for s in seen] == [method]
    assert seen[0].json() == body
    assert caught.value.method == method  # type: ignore[attr-defined]
    assert gh.stats.retries == 0


@pytest.mark.parametrize("fault", [Drop(), Drop(reset=True)], ids=["dropped", "reset"])
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
@pytest.mark.parametrize("direct", [True, False], ids=["direct", "httpx-over-aiohttp"])
async def test_put_and_delete_are_not_resent_by_aiohttp(server: FaultServer, method: str, fault: Any, direct: bool) -> None:
    """aiohttp re-sends idempotent methods once after a dropped connection, unless told not to;
    PUT and DELETE are writes to the pipeline: sent once, on both aiohttp paths."""
    config = ClientConfig(base_url=server.url, **FAST)
    http = None if direct else async_http_client(config)
    gh = AsyncGitHubClient(token=TOKEN, config=config, http_client=http)
    path, body = WRITES[method]
    server.script(method, path, fault)
    try:
        with pytest.raises(TransportError):
            await gh.request(method, path, json=body)
        await settle()
    finally:
        await gh.aclose()
        if http is not None:
            await http.aclose()
    assert [s.method for s in server.requests(path)] == [method]


async def test_post_is_retried_after_a_connect_error(connect: Connect, server: FaultServer) -> None:
    gh = connect(retry_attempts=8, retry_backoff=0.05, retry_max_delay=0.2)
    server.offline(0.3)  # connections refused for 0.3 s: the request provably reached nobody

    started = time.monotonic()
    response = await gh.request("POST", ISSUES_PATH, json={"title": "new"})

    assert time.monotonic() - started >= 0.3 - 0.05
    assert response.status_code == 201
    assert statuses(server.requests(ISSUES_PATH, "POST")) == ["201"]
    assert gh.stats.retries >= 1


# -- the conditional-request cache ---------------------------------------------------------------
async def test_304_is_served_from_the_cache_and_counted(connect: Connect, server: FaultServer) -> None:
    gh = connect()

    first = await gh.issues.get("o", "r", 1)
    second = await gh.issues.get("o", "r", 1)
    raw = await gh.request("GET", ISSUE_PATH)

    assert second == first and second.title == "first"
    assert raw.status_code == 200 and raw.json() == ISSUE
    assert str(raw.request.url) == f"{server.url}{ISSUE_PATH}"
    seen = server.requests(ISSUE_PATH)
    assert statuses(seen) == ["200", "304", "304"]
    etag = '"repos-o-r-issues-1-v1"'
    assert [s.headers.get("if-none-match") for s in seen] == [None, etag, etag]
    cache = gh.stats.cache
    assert (cache.misses, cache.stores, cache.revalidations, cache.hits) == (1, 1, 2, 2)


# -- redirects -----------------------------------------------------------------------------------
async def test_redirect_on_the_origin_keeps_authorization(connect: Connect, server: FaultServer) -> None:
    gh = connect()
    server.script("GET", "/moved", Reply(302, {"location": ISSUE_PATH}))

    response = await gh.request("GET", "/moved")

    assert response.status_code == 200 and response.json() == ISSUE
    assert str(response.url) == f"{server.url}{ISSUE_PATH}"
    assert [r.status_code for r in response.history] == [302]
    assert [(s.path, s.token) for s in server.requests()] == [("/moved", TOKEN), (ISSUE_PATH, TOKEN)]


async def test_redirect_to_another_origin_drops_authorization(
    connect: Connect, server: FaultServer, other: FaultServer
) -> None:
    gh = connect()
    server.script("GET", "/download", Reply(302, {"location": f"{other.url}{ISSUE_PATH}"}))

    response = await gh.request("GET", "/download")

    assert response.status_code == 200 and response.json() == ISSUE
    assert [s.token for s in server.requests()] == [TOKEN]
    (arrived,) = other.requests()
    assert arrived.path == ISSUE_PATH and "authorization" not in arrived.headers


@pytest.mark.parametrize(("status", "method"), [(307, "POST"), (303, "GET")])
async def test_redirected_write_follows_httpx_rules(connect: Connect, server: FaultServer, status: int, method: str) -> None:
    """307 repeats the POST (body included) at the new location; 303 turns it into a GET."""
    gh = connect()
    server.script("POST", "/old", Reply(status, {"location": ISSUES_PATH if method == "POST" else ISSUE_PATH}))

    response = await gh.request("POST", "/old", json={"title": "new"})

    assert response.status_code == (201 if method == "POST" else 200)
    old, new = server.requests()
    assert (old.method, old.json()) == ("POST", {"title": "new"})
    assert new.method == method and new.token == TOKEN
    assert new.json() == ({"title": "new"} if method == "POST" else None)


async def test_redirect_loop_ends_as_httpx_ends_it(connect: Connect, server: FaultServer) -> None:
    gh = connect(retry_attempts=0)
    server.script("GET", "/loop", *[Reply(302, {"location": "/loop"})] * 30)

    with pytest.raises(TransportError, match="TooManyRedirects"):
        await gh.request("GET", "/loop")

    assert len(server.requests("/loop")) == 21  # the request and httpx's 20 redirects


# -- the response and the client ------------------------------------------------------------------
async def test_response_request_is_the_one_httpx_would_send(connect: Connect, server: FaultServer) -> None:
    gh = connect()

    response = await gh.request("GET", ISSUE_PATH, params={"state": "open"}, headers={"X-Extra": "1"})
    plain = await gh.request("GET", ISSUE_PATH)

    for sent in (response, plain):
        assert isinstance(sent, DirectResponse) and sent.is_closed and sent.is_stream_consumed
        assert sent.elapsed.total_seconds() > 0
    assert str(response.request.url) == f"{server.url}{ISSUE_PATH}?state=open"
    request = plain.request  # made when asked for
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    seen = server.requests(ISSUE_PATH)[-1]
    assert {k.lower(): v for k, v in request.headers.items()} == seen.headers
    copy = pickle.loads(pickle.dumps(plain))
    assert copy.json() == ISSUE and str(copy.request.url) == str(plain.request.url)
    with pytest.raises(httpx.StreamConsumed):
        async for _ in plain.aiter_raw():
            pass


async def test_a_shared_client_made_by_async_http_client_sends_directly(server: FaultServer) -> None:
    """The GitHub App framework shares one client between installations: it keeps the direct path."""
    config = ClientConfig(base_url=server.url, **FAST)
    http = async_http_client(config)
    async with http:
        clients = [AsyncGitHubClient(token=token, config=config, http_client=http) for token in ("t1", "t2")]
        for gh in clients:
            assert isinstance(gh._pipeline.sender, AiohttpSender)
            response = await gh.request("GET", ISSUE_PATH)
            assert isinstance(response, DirectResponse) and response.json() == ISSUE
        await clients[0].aclose()  # not its pool to close
        assert (await clients[1].request("GET", ISSUE_PATH)).status_code == 200
    assert [r.token for r in server.requests(ISSUE_PATH)[-3:]] == ["t1", "t2", "t2"]


async def test_hooks_given_to_the_client_send_through_httpx(server: FaultServer) -> None:
    config = ClientConfig(base_url=server.url, enable_cache=False, **FAST)
    http = async_http_client(config)
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async with http, AsyncGitHubClient(token=TOKEN, config=config, http_client=http) as gh:
        http.event_hooks["request"].append(hook)
        response = await gh.request("GET", ISSUE_PATH)
        assert not isinstance(response, DirectResponse) and response.json() == ISSUE and seen == [ISSUE_PATH]
        http.event_hooks["request"].clear()
        assert isinstance(await gh.request("GET", ISSUE_PATH), DirectResponse)
        http.auth = httpx.BasicAuth("u", "p")  # an auth (or mounts) too: httpx's to apply
        assert not isinstance(await gh.request("GET", ISSUE_PATH), DirectResponse)


async def test_a_client_not_made_by_async_http_client_sends_through_httpx(server: FaultServer) -> None:
    from githubapp.http.transports import AiohttpTransport

    http = httpx.AsyncClient(transport=AiohttpTransport())
    async with http, AsyncGitHubClient(token=TOKEN, base_url=server.url, http_client=http, **FAST) as gh:
        assert gh._pipeline.sender is None
        response = await gh.request("GET", ISSUE_PATH)
        assert not isinstance(response, DirectResponse) and response.json() == ISSUE


async def test_aclose_closes_the_aiohttp_session(server: FaultServer) -> None:
    gh = AsyncGitHubClient(token=TOKEN, base_url=server.url, **FAST)
    await gh.request("GET", ISSUE_PATH)
    transport = gh._pipeline.sender._transport  # type: ignore[union-attr]
    session = transport._session
    assert session is not None and not session.closed

    await gh.aclose()

    assert session.closed and transport._session is None


# -- which URLs go out as they are -----------------------------------------------------------------
_SEGMENT = st.text(st.sampled_from("aZ09-._~!$&'()*+,;=:@% /?#ü\\\"<>`{}^|[]"), max_size=8)


@settings(max_examples=400, deadline=None)
@given(
    origin=st.sampled_from(["http://127.0.0.1:8080", "https://api.github.com", "https://API.github.com",
                            "https://api.github.com:443", "http://h:80", "https://ghe.example.com"]),
    segments=st.lists(_SEGMENT, min_size=1, max_size=4),
    query=st.none() | _SEGMENT,
)
def test_a_url_sent_as_it_is_is_the_url_httpx_sends(origin: str, segments: list[str], query: str | None) -> None:
    """The direct path skips httpx's URL parsing only for URLs that parsing leaves unchanged."""
    sender = AiohttpSender(async_http_client(ClientConfig(transport="aiohttp")), None)  # type: ignore[arg-type]
    url = origin + "".join("/" + s for s in segments) + ("" if query is None else "?" + query)
    if sender._plain(url):
        assert str(httpx.URL(url)) == url


@pytest.mark.parametrize(
    ("url", "plain"),
    [
        ("https://api.github.com/repos/o/r/issues/7", True),
        ("http://127.0.0.1:8080/repos/o/r/git/ref/heads%2Ffeat%20x?per_page=5&q=a+b", True),
        ("https://api.github.com/repos/o/r/contents/.github/workflows", True),
        ("https://api.github.com/repos/o/r/contents/a b", False),  # httpx escapes the space
        ("https://api.github.com/repos/o/r/contents/ü", False),
        ("https://api.github.com/repos/o/../x", False),  # httpx drops dot segments
        ("https://api.github.com:443/x", False),  # ... and the default port
        ("https://API.github.com/x", False),  # ... and lower-cases the host
        ("https://api.github.com/x%zz", False),
        ("https://api.github.com", False),
        ("/repos/o/r", False),  # not absolute
        ("http://h?x=/y", False),
        ("https://user@api.github.com/x", False),
        ("http://127.0.0.1:80/x", False),
    ],
)
def test_plain_urls(url: str, plain: bool) -> None:
    sender = AiohttpSender(async_http_client(ClientConfig(transport="aiohttp")), None)  # type: ignore[arg-type]
    assert sender._plain(url) is plain
    if plain:
        assert str(httpx.URL(url)) == url


def test_request_built_for_the_response_matches_build_httpx_request() -> None:
    """What the direct path reports as sent is what the httpx path builds (same function)."""
    from githubapp._operation import PreparedRequest

    http = async_http_client(ClientConfig(transport="aiohttp"))
    prepared = PreparedRequest("GET", "https://api.github.com/repos/o/r", (), (), None, "repos/get")
    response = DirectResponse(200, request=None)
    response.set_request_factory(lambda: build_httpx_request(http, prepared, "Bearer t"))
    expected = build_httpx_request(http, prepared, "Bearer t")
    assert response.request.headers.raw == expected.headers.raw and response.url == expected.url


def test_raw_headers_are_the_headers_httpx_makes() -> None:
    raw = [(b"Content-Type", b"application/json"), (b"Link", b"<a>; rel=next"), (b"link", b"<b>; rel=last"),
           (b"X-Caf\xc3\xa9", b"cr\xc3\xa8me")]
    fast, slow = _raw_headers(raw), httpx.Headers(raw)
    assert fast.raw == slow.raw and fast.multi_items() == slow.multi_items() and fast == slow
    assert fast.get_list("link") == ["<a>; rel=next", "<b>; rel=last"] and fast.encoding == slow.encoding


_RATE_NAMES = st.sampled_from(["X-RateLimit-Remaining", "x-ratelimit-reset", "X-RATELIMIT-RESOURCE",
                               "x-ratelimit-limit", "X-RateLimit-Used", "ETag", "Link"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_RATE_NAMES, st.text(st.sampled_from("0123456789 ,core-é"), max_size=6)), max_size=12))
def test_rate_limit_headers_read_the_same_from_aiohttp_and_httpx(pairs: list[tuple[str, str]]) -> None:
    """The pipeline reads x-ratelimit-* from aiohttp's multidict on the direct path (no httpx.Headers
    made); each value must be what ``httpx.Headers.get`` gives (a repeated name joined with ", ")."""
    from multidict import CIMultiDict, CIMultiDictProxy

    from githubapp.http.ratelimit import _NAMES, _ratelimit_headers

    raw = [(name.encode(), value.encode()) for name, value in pairs]
    expected = [httpx.Headers(raw).get(name) for name in _NAMES]
    assert _ratelimit_headers(_raw_headers(raw)) == expected
    assert _ratelimit_headers(CIMultiDictProxy(CIMultiDict(pairs))) == expected


async def test_headers_are_made_when_first_asked_for(connect: Connect, server: FaultServer) -> None:
    gh = connect()
    server.script("GET", ISSUE_PATH, Reply(200, {"X-RateLimit-Remaining": "41", "X-RateLimit-Reset": "2000000000",
                                                 "Link": "<a>; rel=next", "ETag": '"e1"'}, ISSUE))

    response = await gh.request("GET", ISSUE_PATH)

    assert isinstance(response, DirectResponse) and response._raw is not None  # not made by the pipeline
    assert gh.rate_limit["core"].remaining == 41  # ... which read the limit all the same
    assert gh.stats.cache.stores == 1  # ... and cached the answer by its ETag
    copy = pickle.loads(pickle.dumps(response))  # made for pickling
    for made in (copy, response):
        assert made.headers.get_list("link") == ["<a>; rel=next"] and made.headers["etag"] == '"e1"'
        assert made.headers["x-ratelimit-remaining"] == "41" and made.elapsed == response.elapsed


async def test_github_app_installation_clients_share_one_direct_pool(server: FaultServer, rsa_pem: str) -> None:
    """GitHubApp with transport="aiohttp": every installation client sends through the shared pool's direct path."""
    from datetime import UTC, datetime, timedelta

    from githubapp.app.clients import ClientFactory

    expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for installation in (42, 43):
        server.script("POST", f"/app/installations/{installation}/access_tokens",
                      Reply(201, {}, {"token": f"ghs_{installation}", "expires_at": expires}))
    factory = ClientFactory(1, rsa_pem, config=ClientConfig(base_url=server.url, **FAST))
    pools = set()
    for installation in (42, 43):
        async with factory.async_client(installation) as gh:
            assert isinstance(gh._pipeline.sender, AiohttpSender)
            response = await gh.request("GET", ISSUE_PATH)
            assert isinstance(response, DirectResponse)
            pools.add(id(gh._http))
    assert len(pools) == 1
    assert [r.token for r in server.requests(ISSUE_PATH)[-2:]] == ["ghs_42", "ghs_43"]
    await factory.aclose()


def test_header_values_that_are_not_ascii_read_as_httpx_reads_them() -> None:
    """aiohttp decodes non-UTF-8 bytes with surrogates; such values are read from httpx's headers."""
    from multidict import CIMultiDict, CIMultiDictProxy

    from githubapp.http.ratelimit import _ratelimit_headers

    raw = [(b"X-RateLimit-Resource", "été".encode("latin-1")), (b"X-RateLimit-Remaining", b"5")]
    parsed = CIMultiDictProxy(CIMultiDict([(n.decode(), v.decode("utf-8", "surrogateescape")) for n, v in raw]))
    response = DirectResponse(200, request=None)
    response.set_headers(raw, parsed)
    expected = [httpx.Headers(raw).get(name) for name in _ratelimit_headers.names]
    assert expected[2] == "été" and _ratelimit_headers(parsed)[2] != "été"  # the two views differ here ...
    assert _ratelimit_headers.of(response) == expected  # ... and the response is read as httpx reads it


def test_elapsed_is_unknown_until_set_as_httpx_has_it() -> None:
    response = DirectResponse(200, request=None)
    with pytest.raises(RuntimeError, match="elapsed"):
        response.elapsed  # noqa: B018
    response.set_elapsed(0.25)
    assert response.elapsed.total_seconds() == 0.25


async def test_a_closed_shared_client_refuses_as_httpx_does(server: FaultServer) -> None:
    config = ClientConfig(base_url=server.url, **FAST)
    http = async_http_client(config)
    gh = AsyncGitHubClient(token=TOKEN, config=config, http_client=http)
    await gh.request("GET", ISSUE_PATH)
    await http.aclose()
    transport = gh._pipeline.sender._transport  # type: ignore[union-attr]

    with pytest.raises(RuntimeError, match="closed"):
        await gh.request("GET", ISSUE_PATH)
    assert transport._session is None  # no new aiohttp session opened behind the closed client
