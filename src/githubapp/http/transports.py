"""The httpx clients the SDK sends with, chosen by ``ClientConfig.transport``.

    http = async_http_client(config)     # httpx.AsyncClient: same headers, timeout, pool, redirects
    http = sync_http_client(config)      # httpx.Client (the blocking client always uses httpx)

``transport="httpx"`` (the default) is a plain :class:`httpx.AsyncClient`, so respx mocks it as
usual. ``transport="aiohttp"`` keeps the same httpx client (headers, redirects, cookies, auth,
events are still httpx's) over :class:`AiohttpTransport`, which hands each request to an aiohttp
connection pool: several times more requests per second under concurrency. It needs the extra::

    pip install 'githubapp[aiohttp]'

Transport failures are mapped to httpx exceptions by what they say about the request, because the
retry stage relies on it: only a connection that was never made (:class:`httpx.ConnectError`,
:class:`httpx.ConnectTimeout`) lets a write be retried; a dropped connection, a read timeout or a
reset after sending is "outcome unknown" (:class:`httpx.RemoteProtocolError`,
:class:`httpx.ReadTimeout`, :class:`httpx.ReadError`), so no write is sent twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final, TypeVar

import httpx

from .pipeline import client_options

if TYPE_CHECKING:
    import aiohttp

    from ..config import ClientConfig

__all__ = ["AiohttpTransport", "async_http_client", "sync_http_client", "AIOHTTP_MISSING"]

#: the message of the ImportError raised when ``transport="aiohttp"`` is chosen without aiohttp
AIOHTTP_MISSING = "transport='aiohttp' needs the aiohttp package: pip install 'githubapp[aiohttp]'"


def async_http_client(config: ClientConfig) -> httpx.AsyncClient:
    """The :class:`httpx.AsyncClient` of ``config``: headers, timeout, pool limits, redirects, transport.

    Raises :class:`ImportError` (naming the extra) for ``transport="aiohttp"`` without aiohttp.
    """
    options = client_options(config)
    if config.transport == "aiohttp":
        limits: httpx.Limits = options.pop("limits")
        client = httpx.AsyncClient(transport=AiohttpTransport(limits=limits), **options)
    else:
        client = httpx.AsyncClient(**options)
    return _skip_cookie_parsing(client)


def sync_http_client(config: ClientConfig) -> httpx.Client:
    """The blocking :class:`httpx.Client` of ``config`` (aiohttp is async only: always httpx)."""
    return _skip_cookie_parsing(httpx.Client(**client_options(config)))


class _Cookies(httpx.Cookies):
    """httpx's cookie store, without its cost for responses that set no cookie.

    httpx hands every response to :mod:`http.cookiejar` through ``urllib`` compatibility shims
    (about 50 µs a call here, a third of the client's own cost); the jar only ever reads
    ``Set-Cookie``/``Set-Cookie2``, and the GitHub API sets none.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


_C = TypeVar("_C", httpx.AsyncClient, httpx.Client)


def _skip_cookie_parsing(client: _C) -> _C:
    if type(client.cookies) is httpx.Cookies:  # httpx keeps them in `_cookies` (0.2x)
        client._cookies = _Cookies(client.cookies)
    return client


def _import_aiohttp() -> Any:
    try:
        import aiohttp
    except ImportError as exc:
        raise ImportError(AIOHTTP_MISSING, name="aiohttp") from exc
    return aiohttp


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends over one aiohttp connection pool.

    ``limits.max_connections`` bounds the open connections (all hosts), ``limits.keepalive_expiry``
    closes idle ones. The aiohttp session is made on the first request, inside the running event
    loop, and closed by :meth:`aclose` (``await http.aclose()``). Redirects, cookies and auth stay
    with the httpx client: this transport sends exactly the request it is given, and reads the
    response body when it is read (``response.aread()``), not before.

    TLS uses the same verification as httpx (``httpx.create_ssl_context``: certifi, or
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``). ``HTTP(S)_PROXY`` / ``NO_PROXY``, when set, are honoured
    by aiohttp's ``trust_env`` (which then also reads ``~/.netrc`` for requests without ``Authorization``).
    aiohttp has no write timeout; ``connect``/``pool`` bound getting a connection, ``read`` each read.
    """

    def __init__(self, *, limits: httpx.Limits | None = None, verify: bool = True, trust_env: bool = True) -> None:
        self._aiohttp = _import_aiohttp()
        import urllib.request

        from yarl import URL  # an aiohttp dependency

        self._url = URL
        self._limits = limits or httpx.Limits()
        # made here, like httpx does, not on the first request inside the event loop (it reads the CA bundle)
        self._ssl = httpx.create_ssl_context(verify=verify, trust_env=trust_env) if verify else False
        self._trust_env = trust_env
        # aiohttp's trust_env costs two thread hops per request (proxy and netrc look-ups): only when needed
        self._env_proxies = trust_env and bool(urllib.request.getproxies())
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        lib = self._aiohttp
        limits = self._limits
        connector = lib.TCPConnector(
            limit=limits.max_connections or 0,  # 0: unbounded, as httpx's None
            limit_per_host=0,
            keepalive_timeout=limits.keepalive_expiry if limits.keepalive_expiry is not None else 5.0,
            ssl=self._ssl,
        )
        session: aiohttp.ClientSession = lib.ClientSession(
            connector=connector,
            cookie_jar=lib.DummyCookieJar(),  # httpx keeps the cookies (and sends them as a header)
            auto_decompress=False,  # httpx decodes Content-Encoding
            timeout=lib.ClientTimeout(total=None),
            trust_env=self._env_proxies,
        )
        # aiohttp re-sends a GET, PUT or DELETE once, silently, when the connection drops; the
        # pipeline decides retries (PUT and DELETE are writes: never sent twice), so aiohttp must not
        # (aiohttp's own test client turns it off the same way; there is no public switch)
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        self._session = session
        return session

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        given = request.extensions.get("timeout") or {}
        connect, read, pool = given.get("connect"), given.get("read"), given.get("pool")
        key = (connect, read, pool)
        timeout = self._timeouts.get(key)
        if timeout is None:
            # aiohttp's `connect` covers waiting for a pooled connection *and* making a new one
            both = None if connect is None or pool is None else connect + pool
            timeout = self._timeouts[key] = self._aiohttp.ClientTimeout(
                total=None, connect=both, sock_connect=connect, sock_read=read
            )
        return timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._open()
        data: bytes | AsyncIterator[bytes] | None
        headers = request.headers.multi_items()
        try:
            data = request.content or None
        except httpx.RequestNotRead:  # a streamed body, framed as its headers say (as httpcore does)
            names = {k.lower() for k, _ in headers}
            if "transfer-encoding" in names:  # aiohttp chunks it itself
                data = _stream(request)
                headers = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
            elif "content-length" in names:
                data = _stream(request)
            else:  # no framing headers: no body (a redirected GET)
                data = None
        try:
            response = await session.request(
                request.method,
                self._url(str(request.url), encoded=True),  # the URL httpx built goes out as it is
                headers=headers,
                data=data,
                allow_redirects=False,
                compress=None,
                timeout=self._timeout(request),
                skip_auto_headers=_NO_CONTENT_TYPE if data is not None and "content-type" not in request.headers else None,
            )
        except Exception as exc:
            raise self._mapped(exc, request) from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_AiohttpBody(self, response, request),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _mapped(self, exc: Exception, request: httpx.Request) -> Exception:
        """The httpx exception for an aiohttp failure; see the module docstring for why it matters."""
        kind = _exception_kind(self._aiohttp, exc)
        if kind is None:
            return exc
        return kind(str(exc) or type(exc).__name__, request=request)


#: passed as aiohttp's ``skip_auto_headers`` for a body without a Content-Type (httpx adds none)
_NO_CONTENT_TYPE: Final = ("Content-Type",)


async def _stream(request: httpx.Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream:  # type: ignore[union-attr]
        yield chunk


def _exception_kind(aiohttp: Any, exc: Exception) -> type[httpx.TransportError] | None:
    """Which httpx error an aiohttp (or asyncio) exception stands for; ``None``: not a transport error.

    Order matters: aiohttp's timeout errors are also connection errors, and a refused connection is
    also an OS error.
    """
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout  # no connection within `connect`: nothing sent
    if isinstance(exc, aiohttp.ClientProxyConnectionError | aiohttp.ClientHttpProxyError):
        return httpx.ProxyError
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError  # refused, DNS, TLS handshake: nothing sent
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.client_exceptions.NonHttpUrlClientError):
        return httpx.UnsupportedProtocol
    if isinstance(exc, TimeoutError):  # aiohttp.ServerTimeoutError / SocketTimeoutError, asyncio's
        return httpx.ReadTimeout
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError  # the server may have acted
    if isinstance(exc, aiohttp.ClientError | OSError):
        return httpx.ReadError  # reset or broken connection after sending began: outcome unknown
    return None


class _AiohttpBody(httpx.AsyncByteStream):
    """The body of an aiohttp response as httpx reads it; :meth:`aclose` returns the connection."""

    __slots__ = ("_request", "_response", "_transport")

    def __init__(self, transport: AiohttpTransport, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._transport = transport
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except Exception as exc:
            raise self._transport._mapped(exc, self._request) from exc

    async def aclose(self) -> None:
        self._response.release()  # back to the pool when fully read, else the connection is closed
