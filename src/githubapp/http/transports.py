"""The httpx clients the SDK sends with, chosen by ``ClientConfig.transport``.

    http = async_http_client(config)     # httpx.AsyncClient: same headers, timeout, pool, redirects
    http = sync_http_client(config)      # httpx.Client (the blocking client always uses httpx)

``transport="httpx"`` (the default) is a plain :class:`httpx.AsyncClient`, so respx mocks it as
usual. ``transport="aiohttp"`` keeps the same httpx client (headers, redirects, cookies, auth,
events are still httpx's) over :class:`AiohttpTransport`, which hands each request to an aiohttp
connection pool: several times more requests per second under concurrency. It needs the extra::

    pip install 'githubapp[aiohttp]'

An :class:`~githubapp.AsyncGitHubClient` on a client made here for ``transport="aiohttp"`` (its own,
or one passed in and shared, as the GitHub App framework shares one between installations) goes one
step further: its pipeline sends each request straight to that aiohttp pool
(:class:`AiohttpSender`, see :func:`direct_sender`), past httpx's client machinery, and gets a read
:class:`httpx.Response` back; the request on the wire, the timeouts, the pool, redirects, cookies
and the error mapping stay those of the httpx client. Any other client passed in as ``http_client``
sends through httpx, and so does a request of a client that was given event hooks, an ``auth`` or
mounts, or holds a cookie: httpx applies them.

Transport failures are mapped to httpx exceptions by what they say about the request, because the
retry stage relies on it: only a connection that was never made (:class:`httpx.ConnectError`,
:class:`httpx.ConnectTimeout`) lets a write be retried; a dropped connection, a read timeout or a
reset after sending is "outcome unknown" (:class:`httpx.RemoteProtocolError`,
:class:`httpx.ReadTimeout`, :class:`httpx.ReadError`), so no write is sent twice.
"""

from __future__ import annotations

import re
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final, TypeVar

import httpx

from .pipeline import build_httpx_request, client_defaults, client_options

if TYPE_CHECKING:
    import aiohttp

    from .._operation import PreparedRequest
    from ..config import ClientConfig

__all__ = [
    "AIOHTTP_MISSING",
    "AiohttpSender",
    "AiohttpTransport",
    "DirectResponse",
    "async_http_client",
    "direct_sender",
    "sync_http_client",
]

#: the message of the ImportError raised when ``transport="aiohttp"`` is chosen without aiohttp
AIOHTTP_MISSING = "transport='aiohttp' needs the aiohttp package: pip install 'githubapp[aiohttp]'"


def async_http_client(config: ClientConfig) -> httpx.AsyncClient:
    """The :class:`httpx.AsyncClient` of ``config``: headers, timeout, pool limits, redirects, transport.

    Raises :class:`ImportError` (naming the extra) for ``transport="aiohttp"`` without aiohttp.
    """
    options = client_options(config)
    if config.transport == "aiohttp":
        limits: httpx.Limits = options.pop("limits")
        transport = AiohttpTransport(limits=limits)
        client = httpx.AsyncClient(transport=transport, **options)
        _AIOHTTP_CLIENTS[client] = transport
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
        return self._client_timeout(request.extensions.get("timeout") or {})

    def _client_timeout(self, given: Mapping[str, float | None]) -> aiohttp.ClientTimeout:
        """aiohttp's timeouts for httpx's (``httpx.Timeout.as_dict()``), made once per distinct value."""
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
        session = self.session()
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
            response = await self.request(
                session, request.method, str(request.url), headers, data,
                timeout=self._timeout(request), has_content_type="content-type" in request.headers,
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

    def request(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        headers: Any,
        data: Any,
        *,
        timeout: aiohttp.ClientTimeout,
        has_content_type: bool,
    ) -> Any:
        """``session.request`` as both paths send: the URL as given (already encoded), no redirects,
        no compression, no Content-Type aiohttp would add to a body that has none."""
        return session.request(
            method,
            self._url(url, encoded=True),
            headers=headers,
            data=data,
            allow_redirects=False,
            compress=None,
            timeout=timeout,
            skip_auto_headers=_NO_CONTENT_TYPE if data is not None and not has_content_type else None,
        )

    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session (made on first use, in the running event loop); closed by :meth:`aclose`."""
        return self._session or self._open()

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


#: passed as aiohttp's ``skip_auto_headers`` for a body without a Content-Type (httpx adds none)
_NO_CONTENT_TYPE: Final = ("Content-Type",)


# -- the direct path ------------------------------------------------------------------------------
#: the transport each client :func:`async_http_client` made for ``transport="aiohttp"`` sends with
_AIOHTTP_CLIENTS: weakref.WeakKeyDictionary[httpx.AsyncClient, AiohttpTransport] = weakref.WeakKeyDictionary()


def direct_sender(http: httpx.AsyncClient) -> AiohttpSender | None:
    """The :class:`AiohttpSender` of a client :func:`async_http_client` made with ``transport="aiohttp"``;
    ``None`` for any other client (it keeps sending with httpx)."""
    transport = _AIOHTTP_CLIENTS.get(http)
    return AiohttpSender(http, transport) if transport is not None else None


#: a path (and query) that httpx's URL parser leaves exactly as it is: RFC 3986 characters that
#: need no escaping, valid ``%xx`` escapes (dot segments are checked apart)
_PLAIN_PATH: Final = re.compile(
    r"(?:/(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})*)+(?:\?(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?"
)
_DOT_SEGMENT: Final = re.compile(r"/\.\.?(?:[/?]|$)")
#: scheme and host (and port): whether httpx keeps one as it is is asked of httpx, once per origin
_ORIGIN: Final = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]+)?")
#: responses that carry a redirect (``httpx.Response.has_redirect_location``, with a Location)
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})


class AiohttpSender:
    """The async pipeline's direct path for ``transport="aiohttp"``: a request goes straight from
    the pipeline to the aiohttp session of the client's :class:`AiohttpTransport`, without httpx's
    client machinery (request building, auth and redirect loops, hooks, the transport API, the
    streamed body), which costs more CPU per call than aiohttp itself.

    It sends what the httpx client would send (:func:`~githubapp.http.pipeline.build_httpx_request`:
    the client's headers, the request's own, ``Authorization``, the query merged with the URL's, the
    client's timeout) over the same connection pool, and returns a read, closed
    :class:`httpx.Response` (a :class:`DirectResponse`), so the pipeline, its cache and
    ``gh.request`` see no difference. Failures are mapped by the transport (:func:`_exception_kind`).

    httpx's client still does the rare cases, with its own rules: redirects (the rest of the chain:
    method, body, ``Authorization`` dropped when leaving the origin, ``max_redirects``), and every
    request once the client holds a cookie (a response set one) or has been given event hooks, an
    ``auth`` or mounts.
    """

    __slots__ = ("_encoding", "_http", "_plain_origins", "_transport")

    def __init__(self, http: httpx.AsyncClient, transport: AiohttpTransport) -> None:
        self._http = http
        self._transport = transport
        self._encoding = http._default_encoding  # what httpx gives its responses
        self._plain_origins: dict[str, bool] = {}

    async def __call__(
        self, prepared: PreparedRequest, authorization: str | None, extra_headers: Sequence[tuple[str, str]]
    ) -> httpx.Response:
        http = self._http
        defaults = client_defaults(http)
        if defaults is None or _customized(http):  # cookies, query params, hooks, auth, mounts, closed: httpx's
            return await self._via_httpx(build_httpx_request(http, prepared, authorization, extra_headers))
        request: httpx.Request | None = None
        url = prepared.url
        if prepared.params or not self._plain(url):  # httpx's URL (query merged, escaped), parsed once
            request = build_httpx_request(http, prepared, authorization, extra_headers)
            url = str(request.url)
        headers = defaults.merged(prepared.headers, extra_headers, authorization)
        content = prepared.content
        transport = self._transport
        started = time.perf_counter()
        try:
            answer = await transport.request(
                transport.session(), prepared.method, url, headers, content,
                timeout=transport._client_timeout(defaults.extensions["timeout"]),
                has_content_type=content is not None and any(name.lower() == "content-type" for name, _ in headers),
            )
            try:
                body = await answer.read()
            finally:
                answer.release()  # back to the pool once read, else closed
        except Exception as exc:
            request = request or build_httpx_request(http, prepared, authorization, extra_headers)
            mapped = transport._mapped(exc, request)
            if mapped is exc:
                raise
            raise mapped from exc
        response = DirectResponse(
            answer.status,
            stream=_READ,
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (answer.reason or "").encode()},
            default_encoding=self._encoding,
        )
        names = answer.headers  # aiohttp's parsed headers (a case-insensitive multidict)
        response.set_headers(answer.raw_headers, names)
        if request is None:  # built when asked for: the pipeline never needs it for a success
            response.set_request_factory(lambda: build_httpx_request(http, prepared, authorization, extra_headers))
        if "Content-Encoding" in names:  # gzip, deflate, ...: decoded by httpx, as httpx does
            response.stream = httpx.ByteStream(body)
            response.read()
        else:
            response._content = body
            response.is_stream_consumed = True
        response.is_closed = True
        response.set_elapsed(time.perf_counter() - started)
        if "Set-Cookie" in names or "Set-Cookie2" in names:
            http.cookies.extract_cookies(response)
        if answer.status in _REDIRECTS and "Location" in names and http.follow_redirects:
            return await self._follow(response)
        return response

    def _plain(self, url: str) -> bool:
        """Whether httpx would send ``url`` exactly as it is (else it is parsed by httpx first)."""
        start = url.find("/", url.find("://") + 3)
        if start < 0:
            return False
        origin, path = url[:start], url[start:]
        plain = self._plain_origins.get(origin)
        if plain is None:
            try:
                plain = _ORIGIN.fullmatch(origin) is not None and str(httpx.URL(origin + "/")) == origin + "/"
            except httpx.InvalidURL:
                plain = False
            if len(self._plain_origins) < 64:
                self._plain_origins[origin] = plain
        return plain and _PLAIN_PATH.fullmatch(path) is not None and _DOT_SEGMENT.search(path) is None

    async def _via_httpx(self, request: httpx.Request) -> httpx.Response:
        response = await self._http.send(request)
        await response.aclose()
        return response

    async def _follow(self, response: httpx.Response) -> httpx.Response:
        """The rest of a redirect chain, followed as the httpx client follows it."""
        http = self._http
        request = response.request
        history: list[httpx.Response] = []
        while True:
            # httpx's rules for the method, the body, Authorization (dropped when leaving the origin) and cookies
            request = http._build_redirect_request(request, response)
            history.append(response)
            if len(history) > http.max_redirects:
                raise httpx.TooManyRedirects("Exceeded maximum allowed redirects.", request=request)
            response = await http.send(request, follow_redirects=False)
            await response.aclose()
            if not response.has_redirect_location:
                response.history = history
                return response


def _customized(http: httpx.AsyncClient) -> bool:
    """Whether httpx must send: the client was given something the direct path would skip (event
    hooks, an ``auth``, transport mounts, set after :func:`async_http_client` made it), or it is
    closed (httpx raises; the direct path would open a new aiohttp session nobody closes)."""
    hooks = http._event_hooks
    return bool(hooks["request"] or hooks["response"] or http._auth is not None or http._mounts or http.is_closed)


def _raw_headers(raw: Sequence[tuple[bytes, bytes]]) -> httpx.Headers:
    """``httpx.Headers(raw)`` for a raw (bytes) header list, without its per-item coercion: the
    same (name, lower-cased name, value) entries, a quarter of the cost."""
    headers = httpx.Headers()
    headers._list = [(name, name.lower(), value) for name, value in raw]
    return headers


class _Read(httpx.AsyncByteStream, httpx.SyncByteStream):
    """The stream of a response whose body was read before it was made (httpx never reads it)."""

    def __iter__(self) -> Iterator[bytes]:
        raise httpx.StreamConsumed()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        raise httpx.StreamConsumed()
        yield b""  # pragma: no cover - makes this an async generator


_READ: Final = _Read()


class DirectResponse(httpx.Response):
    """An :class:`httpx.Response` of the direct path, read and closed.

    What the pipeline rarely needs is made when first asked for: its :attr:`request` (an
    :class:`httpx.Request` costs a URL parse), the request the httpx client would have sent, as
    :class:`AiohttpSender` sent it; its :attr:`headers` (from the raw header list, as httpx makes
    them); its :attr:`elapsed`. :meth:`peek_headers` reads a few headers without making them.
    """

    _request_factory: Callable[[], httpx.Request] | None = None
    _made_request: httpx.Request | None = None
    _raw: Sequence[tuple[bytes, bytes]] | None = None
    _parsed: Mapping[str, str] | None = None
    _seconds: float | None = None
    _made_elapsed: timedelta | None = None
    _made_headers: httpx.Headers

    def set_request_factory(self, factory: Callable[[], httpx.Request]) -> None:
        self._request_factory = factory

    def set_headers(self, raw: Sequence[tuple[bytes, bytes]], parsed: Mapping[str, str]) -> None:
        """The raw header list (what :attr:`headers` is made from) and the transport's parsed view of it."""
        self._raw, self._parsed = raw, parsed

    def set_elapsed(self, seconds: float) -> None:
        self._seconds = seconds

    def peek_headers(self) -> Mapping[str, str]:
        """The headers to read a few values from: the transport's parsed multidict while
        :attr:`headers` is not made yet (values of a repeated name: ``getall``)."""
        parsed = self._parsed
        return parsed if parsed is not None else self.headers

    @property
    def headers(self) -> httpx.Headers:  # pyright: ignore[reportIncompatibleVariableOverride]
        raw = self._raw
        if raw is not None:
            self.headers = _raw_headers(raw)
        return self._made_headers

    @headers.setter
    def headers(self, value: httpx.Headers) -> None:
        self._made_headers = value
        self._raw = self._parsed = None

    @property
    def _request(self) -> httpx.Request | None:  # what httpx's `request`, `url`, `raise_for_status` read
        request = self._made_request
        if request is None and self._request_factory is not None:
            request = self._made_request = self._request_factory()
            self._request_factory = None
        return request

    @_request.setter
    def _request(self, value: httpx.Request | None) -> None:  # pyright: ignore[reportIncompatibleVariableOverride]
        self._made_request = value

    @property
    def _elapsed(self) -> timedelta:  # what httpx's `elapsed` reads (AttributeError until set, as httpx)
        elapsed = self._made_elapsed
        if elapsed is None:
            if self._seconds is None:
                raise AttributeError("_elapsed")
            elapsed = self._made_elapsed = timedelta(seconds=self._seconds)
        return elapsed

    @_elapsed.setter
    def _elapsed(self, value: timedelta) -> None:
        self._made_elapsed = value

    def __getstate__(self) -> dict[str, Any]:
        self._request  # noqa: B018 - made before pickling (the factory is not picklable)
        self.headers  # noqa: B018 - made before pickling (the transport's multidict is not picklable)
        state = super().__getstate__()
        state.pop("_request_factory", None)
        return state
