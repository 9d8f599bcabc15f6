"""Both transports (``ClientConfig.transport``) against a real HTTP/1.1 server on 127.0.0.1.

The same typed client and pipeline run over plain httpx and over aiohttp; the server records what
arrives on the wire, so both must send the same request (headers incl. Authorization, query, body),
follow redirects, time out, keep connections alive and stay within ``pool_size``. Transport errors
must keep their meaning for the retry stage: a write that may have reached the server is never sent
twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import respx

from githubapp import AsyncGitHubClient
from githubapp.config import ClientConfig
from githubapp.errors import NotFoundError, TransportError
from githubapp.http.pipeline import client_options
from githubapp.http.transports import (
    AIOHTTP_MISSING,
    AiohttpSender,
    AiohttpTransport,
    async_http_client,
    sync_http_client,
)

try:
    import aiohttp  # noqa: F401

    HAVE_AIOHTTP = True
except ImportError:  # pragma: no cover - the dev extra installs it
    HAVE_AIOHTTP = False

NEEDS_AIOHTTP = pytest.mark.skipif(not HAVE_AIOHTTP, reason="aiohttp not installed")
#: "aiohttp" is an httpx client over AiohttpTransport, passed in (sent through httpx's client);
#: "aiohttp-direct" is the client AsyncGitHubClient makes itself, sent by its AiohttpSender
TRANSPORTS = [
    "httpx",
    pytest.param("aiohttp", marks=NEEDS_AIOHTTP),
    pytest.param("aiohttp-direct", marks=NEEDS_AIOHTTP),
]
TOKEN = "ghs_TransportTest0123456789"
ISSUE = {"number": 7, "title": "Found a bug", "state": "open"}

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::githubapp.errors.SpecDriftWarning")]


# -- a small HTTP/1.1 server that records the wire -------------------------------------------------
@dataclass
class Received:
    method: str
    target: str  # path and query exactly as sent
    headers: list[tuple[str, str]]
    body: bytes

    def header_map(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers}


@dataclass
class Server:
    port: int
    received: list[Received] = field(default_factory=list)
    connections: int = 0  # accepted so far
    open_connections: int = 0
    max_busy: int = 0  # most requests being answered at the same time
    busy: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        return [r.target for r in self.received]


def _response(status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None) -> bytes:
    reason = {200: "OK", 201: "Created", 302: "Found", 404: "Not Found"}.get(status, "Status")
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers or [("Content-Type", "application/json; charset=utf-8")]]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _answer(server: Server, request: Received) -> bytes | None:
    """The response to ``request``; ``None``: close the connection without answering."""
    path = request.target.split("?", 1)[0]
    if path == "/stall":
        await asyncio.sleep(3600)
    if path == "/hang-up":
        return None
    if path == "/slow":
        await asyncio.sleep(0.15)
    if path == "/redirect":
        return _response(302, headers=[("Location", "/repos/o/r/issues/7")])
    if path == "/gzip":
        body = gzip.compress(json.dumps(ISSUE).encode())
        return _response(200, body, [("Content-Type", "application/json"), ("Content-Encoding", "gzip")])
    if path == "/set-cookie":
        return _response(200, b"{}", [("Content-Type", "application/json"), ("Set-Cookie", "session=abc; Path=/")])
    if path == "/missing":
        return _response(404, b'{"message": "Not Found"}')
    if path == "/multi":
        return _response(200, b"{}", [("Content-Type", "application/json"), ("Link", '<https://x/1>; rel="next"'),
                                      ("Link", '<https://x/9>; rel="last"')])
    status = 201 if request.method == "POST" else 200
    return _response(status, json.dumps(ISSUE).encode())


@contextlib.asynccontextmanager
async def serve() -> AsyncIterator[Server]:
    server: Server
    handlers: set[asyncio.Task[Any]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            await _serve_connection(server, reader, writer)
        except asyncio.CancelledError:  # the test is over (a stalled answer, an idle connection)
            pass
        finally:
            handlers.discard(task)

    tcp = await asyncio.start_server(handle, "127.0.0.1", 0)
    server = Server(tcp.sockets[0].getsockname()[1])
    try:
        yield server
    finally:
        tcp.close()
        for task in list(handlers):
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(tcp.wait_closed(), 1)


async def _serve_connection(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    server.connections += 1
    server.open_connections += 1
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            request_line, *header_lines = head.decode("latin-1").split("\r\n")[:-2]
            method, target, _ = request_line.split(" ", 2)
            headers = [tuple(line.split(": ", 1)) for line in header_lines]
            length = int(dict((k.lower(), v) for k, v in headers).get("content-length", 0))
            body = await reader.readexactly(length) if length else b""
            request = Received(method, target, headers, body)  # type: ignore[arg-type]
            server.received.append(request)
            server.busy += 1
            server.max_busy = max(server.max_busy, server.busy)
            try:
                answer = await _answer(server, request)
            finally:
                server.busy -= 1
            if answer is None:
                return
            writer.write(answer)
            await writer.drain()
    finally:
        server.open_connections -= 1
        writer.close()


@contextlib.asynccontextmanager
async def client(server: Server, transport: str, **settings: Any) -> AsyncIterator[AsyncGitHubClient]:
    settings = {"write_spacing": 0.0, "retry_backoff": 0.01, "enable_cache": False, **settings}
    async with _client(server.url, transport, **settings) as gh:
        yield gh


@contextlib.asynccontextmanager
async def _client(url: str, transport: str, **settings: Any) -> AsyncIterator[AsyncGitHubClient]:
    direct = transport == "aiohttp-direct"
    config = ClientConfig(base_url=url, transport="aiohttp" if direct else transport, **settings)  # type: ignore[arg-type]
    if direct:
        async with AsyncGitHubClient(token=TOKEN, config=config) as gh:
            assert isinstance(gh._pipeline.sender, AiohttpSender)
            yield gh
        return
    if transport == "aiohttp":  # httpx's client over the aiohttp transport: made here, so no direct path
        options = client_options(config)
        http = httpx.AsyncClient(transport=AiohttpTransport(limits=options.pop("limits")), **options)
    else:
        http = async_http_client(config)
    async with http, AsyncGitHubClient(token=TOKEN, config=config, http_client=http) as gh:
        assert gh._pipeline.sender is None
        yield gh


async def _exchange(transport: str) -> list[Received]:
    """A GET with a query and a path segment to encode, a POST with a JSON body, a raw PATCH."""
    async with serve() as server, client(server, transport) as gh:
        issue = await gh.issues.get("o", "r", 7)
        assert issue.number == 7 and issue.title == "Found a bug"
        await gh.request("GET", "/repos/{owner}/{repo}/git/ref/{ref}", owner="o", repo="r", ref="heads/feat x+y",
                         params={"q": "is:open label:\"good first\" ü", "per_page": 5, "flag": True})
        await gh.issues.create("o", "r", title="Bug ✓", body="Steps", labels=["a", "b"])
        await gh.request("PATCH", "/repos/o/r/issues/7", content=b"\x00raw\xff", headers={"Content-Type": "application/octet-stream"})
        return server.received


# -- the same request on the wire -------------------------------------------------------------------
@NEEDS_AIOHTTP
@pytest.mark.parametrize("transport", ["aiohttp", "aiohttp-direct"])
async def test_both_transports_send_the_same_requests(transport: str) -> None:
    via_httpx = await _exchange("httpx")
    via_aiohttp = await _exchange(transport)
    assert len(via_httpx) == len(via_aiohttp) == 4
    for a, b in zip(via_httpx, via_aiohttp, strict=True):
        assert (a.method, a.target, a.body) == (b.method, b.target, b.body)
        port_a, port_b = a.header_map()["host"], b.header_map()["host"]
        assert a.header_map() | {"host": "-"} == b.header_map() | {"host": "-"}, (a.headers, b.headers)
        assert port_a.startswith("127.0.0.1:") and port_b.startswith("127.0.0.1:")
        assert len(a.headers) == len(b.headers)  # no header doubled by either transport


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_request_on_the_wire(transport: str) -> None:
    get, ref, post, patch = await _exchange(transport)
    headers = get.header_map()
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["x-github-api-version"] == "2022-11-28"
    assert headers["user-agent"] == "githubapp-python"
    assert (get.method, get.target, get.body) == ("GET", "/repos/o/r/issues/7", b"")
    assert "content-length" not in headers and "transfer-encoding" not in headers
    assert ref.target == "/repos/o/r/git/ref/heads%2Ffeat%20x%2By?q=is%3Aopen+label%3A%22good+first%22+%C3%BC&per_page=5&flag=true"
    assert post.method == "POST" and post.target == "/repos/o/r/issues"
    assert json.loads(post.body) == {"title": "Bug ✓", "body": "Steps", "labels": ["a", "b"]}
    assert post.header_map()["content-type"] == "application/json"
    assert post.header_map()["content-length"] == str(len(post.body))
    assert (patch.method, patch.body) == ("PATCH", b"\x00raw\xff")
    assert patch.header_map()["content-type"] == "application/octet-stream"


# -- responses ------------------------------------------------------------------------------------
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_follows_redirects(transport: str) -> None:
    async with serve() as server, client(server, transport) as gh:
        response = await gh.request("GET", "/redirect")
        assert response.status_code == 200 and response.json() == ISSUE
        assert str(response.url) == f"{server.url}/repos/o/r/issues/7"
        assert [r.status_code for r in response.history] == [302]
        assert server.paths() == ["/redirect", "/repos/o/r/issues/7"]
        assert server.received[1].header_map()["authorization"] == f"Bearer {TOKEN}"  # same origin: kept


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_response_fidelity(transport: str) -> None:
    """gzip decoded once (by httpx), repeated headers kept, errors classified, cookies still kept."""
    async with serve() as server, client(server, transport) as gh:
        response = await gh.request("GET", "/gzip")
        assert response.json() == ISSUE and response.headers["content-encoding"] == "gzip"
        response = await gh.request("GET", "/multi")
        assert response.headers.get_list("link") == ['<https://x/1>; rel="next"', '<https://x/9>; rel="last"']
        assert response.http_version == "HTTP/1.1" and response.reason_phrase == "OK"
        with pytest.raises(NotFoundError):
            await gh.request("GET", "/missing")
        await gh.request("GET", "/set-cookie")
        await gh.request("GET", "/repos/o/r/issues/7")
        assert server.received[-1].header_map().get("cookie") == "session=abc"
        assert "cookie" not in server.received[0].header_map()


# -- timeouts and failures ------------------------------------------------------------------------
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_stalled_read_times_out_and_is_retried(transport: str) -> None:
    async with serve() as server, client(server, transport, timeout=0.2, retry_attempts=2) as gh:
        start = time.monotonic()
        with pytest.raises(TransportError, match=r"ReadTimeout.*after 3 attempts"):
            await gh.request("GET", "/stall")
        assert time.monotonic() - start < 3
        assert server.paths() == ["/stall"] * 3


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_write_that_may_have_arrived_is_sent_once(transport: str) -> None:
    """A timeout or a dropped connection after sending: the server may have acted, so no retry."""
    async with serve() as server, client(server, transport, timeout=0.2, retry_attempts=3, breaker_threshold=20) as gh:
        with pytest.raises(TransportError, match="ReadTimeout"):
            await gh.request("POST", "/stall", json={"title": "t"})
        with pytest.raises(TransportError, match="RemoteProtocolError"):
            await gh.request("POST", "/hang-up", json={"title": "t"})
        for method in ("PUT", "DELETE"):  # writes too: aiohttp would re-send these once by itself
            with pytest.raises(TransportError, match="RemoteProtocolError"):
                await gh.request(method, "/hang-up")
        assert [(r.method, r.target) for r in server.received] == [
            ("POST", "/stall"), ("POST", "/hang-up"), ("PUT", "/hang-up"), ("DELETE", "/hang-up")
        ]
        # a read is retried after the same hang-up, by the pipeline only
        with pytest.raises(TransportError, match=r"RemoteProtocolError.*after 4 attempts"):
            await gh.request("GET", "/hang-up")
        assert [r.method for r in server.received[4:]] == ["GET"] * 4


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_body_without_content_type_is_sent_without_one(transport: str) -> None:
    """httpx adds no Content-Type to a raw body; aiohttp would add application/octet-stream."""
    async with serve() as server, client(server, transport) as gh:
        await gh.request("POST", "/repos/o/r/issues", content=b"raw")
        (post,) = server.received
        assert post.body == b"raw" and post.header_map()["content-length"] == "3"
        assert "content-type" not in post.header_map()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_refused_connection_is_retried_even_for_writes(transport: str) -> None:
    async with serve() as server:
        url = server.url
    async with _client(url, transport, retry_attempts=2, retry_backoff=0.01, write_spacing=0.0, timeout=2.0) as gh:
        with pytest.raises(TransportError, match=r"ConnectError.*after 3 attempts"):
            await gh.request("POST", "/repos/o/r/issues", json={"title": "t"})
        assert gh.stats.retries == 2


# -- connections ----------------------------------------------------------------------------------
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_pool_size_bounds_connections(transport: str) -> None:
    async with serve() as server, client(server, transport, pool_size=3, max_concurrency=20) as gh:
        await asyncio.gather(*(gh.request("GET", "/slow") for _ in range(12)))
        assert server.max_busy == 3
        assert server.connections == 3  # and they are kept alive and reused
        for _ in range(5):
            await gh.request("GET", "/repos/o/r/issues/7")
        assert server.connections == 3


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_keep_alive(transport: str) -> None:
    async with serve() as server, client(server, transport) as gh:
        for n in range(5):
            await gh.issues.get("o", "r", n + 1)
        assert server.connections == 1
    assert server.open_connections == 0  # closed with the client


# -- construction ---------------------------------------------------------------------------------
@pytest.mark.parametrize("transport", [t for t in TRANSPORTS if "direct" not in str(t)])
async def test_client_settings(transport: str) -> None:
    config = ClientConfig(transport=transport, timeout=7.5, user_agent="ua/1")  # type: ignore[arg-type]
    async with async_http_client(config) as http:
        assert isinstance(http, httpx.AsyncClient)
        assert http.timeout == httpx.Timeout(7.5)
        assert http.follow_redirects is True
        assert http.headers["User-Agent"] == "ua/1"
        assert http.headers["Accept"] == "application/vnd.github+json"
        assert http.headers["X-GitHub-Api-Version"] == "2022-11-28"
    with sync_http_client(config) as blocking:  # the blocking client is always httpx
        assert isinstance(blocking, httpx.Client) and blocking.timeout == httpx.Timeout(7.5)
        assert blocking.headers["User-Agent"] == "ua/1"


def test_missing_aiohttp_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "aiohttp", None)
    with pytest.raises(ImportError, match=r"pip install 'githubapp\[aiohttp\]'") as caught:
        async_http_client(ClientConfig(transport="aiohttp"))
    assert caught.value.name == "aiohttp"
    assert AIOHTTP_MISSING in str(caught.value)
    async_http_client(ClientConfig())  # the default needs nothing more


async def test_default_transport_is_mocked_by_respx() -> None:
    config = ClientConfig(base_url="https://api.example.test", write_spacing=0.0)
    http = async_http_client(config)
    with respx.mock(assert_all_called=True) as router:
        route = router.get("https://api.example.test/repos/o/r/issues/7").respond(200, json=ISSUE)
        async with http, AsyncGitHubClient(token=TOKEN, config=config, http_client=http) as gh:
            issue = await gh.issues.get("o", "r", 7)
    assert issue.number == 7
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"


# -- building the httpx request ---------------------------------------------------------------------
def _prepared_requests() -> list[Any]:
    from githubapp._operation import PreparedRequest

    base = "https://api.example.test"
    return [
        PreparedRequest("GET", f"{base}/repos/o/r/issues/7", (), (("Accept", "application/vnd.github.raw"),), None, "get"),
        PreparedRequest("GET", f"{base}/search/issues?q=a+b&x=%2F", (("per_page", "5"), ("q", "ü x")),
                        (("accept", "text/plain"), ("user-agent", "me/1")), None, "search"),
        PreparedRequest("POST", f"{base}/repos/o/r/issues", (), (("Content-Type", "application/json"),), b'{"a":1}', "create"),
        PreparedRequest("PATCH", f"{base}/repos/o/r/issues/7", (), (), None, "update"),
    ]


def _wire(request: httpx.Request) -> tuple[Any, ...]:
    return request.method, str(request.url), request.headers.raw, request.content, request.extensions


@pytest.mark.parametrize("make", [async_http_client, sync_http_client], ids=["async", "sync"])
def test_built_request_is_the_one_httpx_builds(make: Any) -> None:
    """``build_httpx_request`` merges the client's part once, yet builds exactly what
    ``client.build_request`` builds: same headers in the same order, query, body, timeout."""
    from githubapp.http.pipeline import build_httpx_request

    http = make(ClientConfig(base_url="https://api.example.test", timeout=7.0))

    def by_httpx(prepared: Any, authorization: str | None, extra: tuple[tuple[str, str], ...]) -> httpx.Request:
        headers = dict(prepared.headers)
        headers.update(extra)
        if authorization is not None:
            headers["Authorization"] = authorization
        url = httpx.URL(prepared.url)
        if not prepared.params:
            return http.build_request(prepared.method, url, headers=headers, content=prepared.content)
        params = [*url.params.multi_items(), *prepared.params]
        return http.build_request(prepared.method, url.copy_with(query=None), params=params, headers=headers,
                                  content=prepared.content)

    for prepared in _prepared_requests():
        for authorization in (None, f"Bearer {TOKEN}"):
            for extra in ((), (("If-None-Match", '"etag"'),)):
                assert _wire(build_httpx_request(http, prepared, authorization, extra)) == _wire(
                    by_httpx(prepared, authorization, extra)
                )
    get = _prepared_requests()[0]
    # the client's settings are read again when they change
    http.headers["X-Extra"] = "1"
    http.timeout = httpx.Timeout(3.0)
    request = build_httpx_request(http, get, None)
    assert request.headers["X-Extra"] == "1" and request.extensions["timeout"]["read"] == 3.0
    # cookies are httpx's to merge
    http.cookies.set("session", "abc", domain="api.example.test")
    assert build_httpx_request(http, get, None).headers["Cookie"] == "session=abc"
