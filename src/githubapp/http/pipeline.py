"""The one request pipeline, assembled here, for the async and the blocking client.

Stages, in order (DESIGN.md "The request pipeline")::

    cache (fresh hit / conditional headers)
    -> throttle (concurrency slot per identity, write spacing) and rate-limit gate
    -> retry loop { breaker -> auth -> transport -> classify }
    -> cache update and invalidation

The stages run in :meth:`Flow.run`, a generator that does no I/O: it *yields* effects
(:class:`Sleep`, :data:`ACQUIRE`, :data:`AUTHORIZE`, :class:`Send`) and the two drivers,
:class:`AsyncPipeline` and :class:`SyncPipeline`, carry them out with asyncio or blocking calls.
So every decision is made once, in one place, for both clients; the decisions themselves are plain
functions in :mod:`.retry`, :mod:`.ratelimit`, :mod:`.breaker` and :mod:`.cache`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import weakref
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx

from ..errors import (
    AsyncGitHubAPIError,
    AsyncGitHubRateLimitError,
    TransportError,
    UnauthorizedError,
    error_for_response,
    parse_retry_after,
)
from .cache import cache_key
from .ratelimit import RateLimit, primary_wait, resource_for, secondary_wait
from .retry import RETRY_STATUSES, backoff_delay, is_write, may_retry, transport_outcome
from .state import PipelineState

if TYPE_CHECKING:
    import asyncio

    from .._operation import PreparedRequest
    from ..auth import Auth
    from ..config import ClientConfig

__all__ = [
    "AsyncPipeline",
    "SyncPipeline",
    "Sender",
    "Flow",
    "client_options",
    "default_headers",
    "build_httpx_request",
    "client_defaults",
    "holds_cookies",
    "limits",
    "classify",
]

logger = logging.getLogger("githubapp")

_GRAPHQL_IDS = frozenset({"graphql:query", "graphql:mutation"})


# -- the httpx client both clients use -------------------------------------------------------
def default_headers(config: ClientConfig) -> dict[str, str]:
    return {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": config.api_version,
        "User-Agent": config.user_agent,
    }


def client_options(config: ClientConfig) -> dict[str, Any]:
    """The httpx client settings both clients use: headers, timeout, pool, redirects."""
    return {
        "headers": default_headers(config),
        "timeout": httpx.Timeout(config.timeout),
        "limits": limits(config),
        "follow_redirects": True,
    }


def limits(config: ClientConfig) -> httpx.Limits:
    return httpx.Limits(
        max_connections=config.pool_size,
        max_keepalive_connections=config.pool_size,
        keepalive_expiry=config.keepalive_expiry,
    )


def build_httpx_request(
    client: httpx.AsyncClient | httpx.Client,
    prepared: PreparedRequest,
    authorization: str | None,
    extra_headers: Sequence[tuple[str, str]] = (),
) -> httpx.Request:
    """The httpx request for ``prepared``; the ``Authorization`` header is added here only.

    The same request ``client.build_request`` makes (the client's headers under the request's own,
    the client's timeout), built directly: the client's part is merged once per client, not per call.
    """
    defaults = client_defaults(client)
    if defaults is None:  # the client holds cookies or query params: let httpx merge them
        return _build_with_client(client, prepared, authorization, extra_headers)
    headers = defaults.merged(prepared.headers, extra_headers, authorization)
    if not prepared.params:  # the URL keeps its own query (pagination links carry theirs)
        return httpx.Request(prepared.method, prepared.url, headers=headers, content=prepared.content,
                             extensions=defaults.extensions)
    url, params = _with_params(prepared)
    return httpx.Request(prepared.method, url, params=params, headers=headers, content=prepared.content,
                         extensions=defaults.extensions)


def _with_params(prepared: PreparedRequest) -> tuple[httpx.URL, list[tuple[str, str | int | float | bool | None]]]:
    """httpx would replace the URL's query with ``params``: send both, the URL's first."""
    url = httpx.URL(prepared.url)
    return url.copy_with(query=None), [*url.params.multi_items(), *prepared.params]


def _build_with_client(
    client: httpx.AsyncClient | httpx.Client,
    prepared: PreparedRequest,
    authorization: str | None,
    extra_headers: Sequence[tuple[str, str]],
) -> httpx.Request:
    headers = _own_headers(prepared.headers, extra_headers, authorization)
    if not prepared.params:
        return client.build_request(prepared.method, prepared.url, headers=headers, content=prepared.content)
    url, params = _with_params(prepared)
    return client.build_request(prepared.method, url, params=params, headers=headers, content=prepared.content)


def _own_headers(
    headers: Sequence[tuple[str, str]], extra_headers: Sequence[tuple[str, str]], authorization: str | None
) -> dict[str, str]:
    """A request's own headers: the prepared ones, then the pipeline's (conditional), then auth."""
    own = dict(headers)
    if extra_headers:
        own.update(extra_headers)
    if authorization is not None:
        own["Authorization"] = authorization
    return own


class ClientDefaults:
    """What an httpx client adds to every request it builds: its headers and its timeout.

    :meth:`merged` gives the headers ``client.build_request`` would send: the client's, except those
    the request sets itself (names compared case-insensitively), then the request's own.
    """

    __slots__ = ("_key", "_merged", "base", "extensions")

    def __init__(self, headers: httpx.Headers, timeout: httpx.Timeout) -> None:
        #: a copy of the headers' (name, lower-cased name, value) list: compared without building ``raw``
        self._key = (list(headers._list), timeout)
        #: (name, lower-cased name, value) of each client header
        encoding = headers.encoding
        self.base = [(name.decode(encoding), name.decode(encoding).lower(), value.decode(encoding)) for name, value in headers.raw]
        self.extensions: dict[str, Any] = {"timeout": timeout.as_dict()}
        #: merged headers of requests without extra headers, by (own headers, authorization): a
        #: client sends few distinct ones (the Accept of an operation, one token at a time)
        self._merged: dict[tuple[tuple[tuple[str, str], ...], str | None], tuple[tuple[str, str], ...]] = {}

    def current(self, headers: httpx.Headers, timeout: httpx.Timeout) -> bool:
        return self._key[1] is timeout and self._key[0] == headers._list

    def merged(
        self, own_headers: Sequence[tuple[str, str]], extra_headers: Sequence[tuple[str, str]], authorization: str | None
    ) -> tuple[tuple[str, str], ...]:
        if extra_headers:
            return self._merge(own_headers, extra_headers, authorization)
        key = (own_headers if type(own_headers) is tuple else tuple(own_headers), authorization)
        merged = self._merged.get(key)
        if merged is None:
            if len(self._merged) >= 64:  # a new token (or many Accept variants): start over
                self._merged.clear()
            merged = self._merged[key] = self._merge(own_headers, extra_headers, authorization)
        return merged

    def _merge(
        self, own_headers: Sequence[tuple[str, str]], extra_headers: Sequence[tuple[str, str]], authorization: str | None
    ) -> tuple[tuple[str, str], ...]:
        own = _own_headers(own_headers, extra_headers, authorization)
        names = {name.lower() for name in own}
        return (*((name, value) for name, lower, value in self.base if lower not in names), *own.items())


_DEFAULTS: weakref.WeakKeyDictionary[httpx.AsyncClient | httpx.Client, ClientDefaults] = weakref.WeakKeyDictionary()


def client_defaults(client: httpx.AsyncClient | httpx.Client) -> ClientDefaults | None:
    """The client's headers and timeout, merged once (again when they change); ``None`` when the
    client holds cookies or query params, which httpx's own ``build_request`` must merge."""
    if client.params or holds_cookies(client):
        return None
    headers, timeout = client.headers, client.timeout
    defaults = _DEFAULTS.get(client)
    if defaults is None or not defaults.current(headers, timeout):
        defaults = _DEFAULTS[client] = ClientDefaults(headers, timeout)
    return defaults


def holds_cookies(client: httpx.AsyncClient | httpx.Client) -> bool:
    """``bool(client.cookies)`` without walking the jar: the stdlib jar keeps its cookies in a dict
    by domain (a domain left empty after a removal only means the slower, httpx-merged path)."""
    cookies = client.cookies
    by_domain = getattr(cookies.jar, "_cookies", None)
    return bool(by_domain) if isinstance(by_domain, dict) else bool(cookies)


# -- stage: classify -------------------------------------------------------------------------
def classify(prepared: PreparedRequest, response: httpx.Response) -> AsyncGitHubAPIError | None:
    """``None`` for a success, else the exception the response stands for (not raised here).

    GraphQL answers 200 with ``errors: [{type: RATE_LIMITED}]``; that is a rate limit too.
    """
    status = response.status_code
    if status >= 400:
        return error_for_response(prepared.method, str(response.request.url), status, response.headers, response.content)
    if prepared.operation_id in _GRAPHQL_IDS and status == 200 and b"RATE_LIMITED" in response.content:
        from ..graphql import graphql_rate_limit_error

        return graphql_rate_limit_error(
            prepared.method, str(response.request.url), status, response.headers, response.content
        )
    return None


def transport_error(prepared: PreparedRequest, exc: httpx.HTTPError, attempts: int) -> TransportError:
    kind = type(exc).__name__
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    return TransportError(f"{kind}: {exc}{tries}" if str(exc) else f"{kind}{tries}", method=prepared.method, url=prepared.url)


# -- effects the flow yields -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float
    reason: str


@dataclass(frozen=True, slots=True)
class Send:
    prepared: PreparedRequest
    authorization: str | None
    extra_headers: Sequence[tuple[str, str]]


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ACQUIRE: Final = _Marker("ACQUIRE")  # take a concurrency slot of this identity (released by the driver)
AUTHORIZE: Final = _Marker("AUTHORIZE")  # get the Authorization header value from the credential

Effect = Sleep | Send | _Marker


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _accept(prepared: PreparedRequest) -> str:
    for name, value in prepared.headers:
        if name.lower() == "accept":
            return value
    return "application/vnd.github+json"


class Flow:
    """The stages, as one generator of effects per request. No I/O; shared by both drivers."""

    def __init__(self, config: ClientConfig, auth: Auth | None, state: PipelineState) -> None:
        self.config = config
        self.auth = auth
        self.state = state
        self.identity = auth.identity if auth is not None else "anonymous"
        # the breaker's key of URLs under the base URL, known without parsing each of them
        self._base_prefix = config.base_url + "/"
        self._base_origin = _origin(config.base_url)

    def run(self, prepared: PreparedRequest) -> Generator[Effect, Any, httpx.Response]:
        config, state, identity = self.config, self.state, self.identity
        # stage: cache lookup
        key = None
        entry = None
        if config.enable_cache and prepared.method == "GET":
            key = cache_key("GET", prepared.url, prepared.params, _accept(prepared), identity)
            entry, fresh = state.cache.lookup(key, time.monotonic())
            if entry is not None and fresh:
                logger.debug("cache: fresh hit %s", prepared.url)
                return entry.to_response(httpx.Request("GET", prepared.url))
        conditional = entry.conditional_headers() if entry is not None else []
        # stage: throttle
        yield ACQUIRE
        write = is_write(prepared)
        resource = resource_for(prepared.url)
        url = prepared.url
        breaker = state.breakers.for_origin(self._base_origin if url.startswith(self._base_prefix) else _origin(url))
        failures = limited = 0
        refreshed = False
        while True:
            # stage: rate-limit gate
            # (checked again after each hold: a pause may have been extended meanwhile)
            wait, exhausted = state.limits.wait_before(identity, resource, time.time())
            while wait > 0:
                if wait > config.max_rate_limit_wait:
                    raise self._held(prepared, wait, exhausted)
                logger.debug("rate limit: holding %s %s for %.1fs", prepared.method, prepared.url, wait)
                state.count_wait(wait, rate_limit=True)
                yield Sleep(wait, "rate limit")
                wait, exhausted = state.limits.wait_before(identity, resource, time.time())
            # stage: write spacing, booked after the gate: writes held by a rate limit leave one by one
            if write:
                spacing = state.spacer.reserve(identity, time.monotonic())
                if spacing > 0:
                    logger.debug("throttle: write %s waits %.2fs for its slot", prepared.url, spacing)
                    state.count_wait(spacing, rate_limit=False)
                    yield Sleep(spacing, "write spacing")
            # stage: breaker -> auth -> transport
            probe = breaker.before(time.monotonic())
            try:
                authorization: str | None = (yield AUTHORIZE) if self.auth is not None else None
            except BaseException:
                if probe:  # a probe that was never sent must not keep the breaker half-open
                    breaker.abandon()
                raise
            state.count("requests")
            try:
                response: httpx.Response = yield Send(prepared, authorization, conditional)
            except httpx.HTTPError as exc:
                breaker.record(ok=False, now=time.monotonic())
                if failures < config.retry_attempts and may_retry(write=write, outcome=transport_outcome(exc)):
                    delay = backoff_delay(failures, base=config.retry_backoff, cap=config.retry_max_delay, rand=random.random())
                    failures += 1
                    logger.debug("retry %d of %s %s in %.2fs after %s", failures, prepared.method, prepared.url, delay, type(exc).__name__)
                    state.count("retries")
                    state.count_wait(delay, rate_limit=False)
                    yield Sleep(delay, "retry")
                    continue
                raise transport_error(prepared, exc, failures + 1) from exc
            except BaseException:
                if probe:
                    breaker.abandon()
                raise
            # stage: classify
            status = response.status_code
            breaker.record(ok=status < 500, now=time.monotonic())
            state.limits.observe(identity, response, resource)
            if status == 304 and entry is not None and key is not None:
                logger.debug("cache: revalidated %s (304)", prepared.url)
                state.secondary_pauses.pop(identity, None)
                state.cache.revalidated(key, entry, time.monotonic())
                return entry.to_response(response.request)
            error = classify(prepared, response)
            if error is None:
                state.secondary_pauses.pop(identity, None)
                # stage: cache update and invalidation
                if key is not None:
                    state.cache.store(key, response, time.monotonic())
                elif write and config.enable_cache and status < 300 and state.cache.invalidate(prepared.url):
                    logger.debug("cache: %s %s invalidated cached entries", prepared.method, prepared.url)
                return response
            if (
                isinstance(error, UnauthorizedError)
                and not refreshed
                and authorization is not None
                and self.auth is not None
                and self.auth.invalidate(authorization)
            ):
                logger.debug("auth: 401 on %s %s; retrying once with a fresh credential", prepared.method, prepared.url)
                refreshed = True
                state.count("auth_refreshes")
                continue
            if isinstance(error, AsyncGitHubRateLimitError):
                gate_wait = state.limits.wait_before(identity, resource, time.time())[0]
                wait = self._rate_limit_pause(error, gate_wait)
                # pause the identity first, also when giving up: GitHub asked every request of it to wait
                if error.secondary or gate_wait == 0:
                    state.limits.pause(identity, time.time() + wait)
                if limited >= max(1, config.retry_attempts) or wait > config.max_rate_limit_wait:
                    raise error
                limited += 1
                state.count("retries")
                logger.debug(
                    "rate limit (%s) on %s %s: identity paused %.1fs",
                    "secondary" if error.secondary else "primary", prepared.method, prepared.url, wait,
                )
                continue
            if status in RETRY_STATUSES and not write and failures < config.retry_attempts:
                delay = backoff_delay(failures, base=config.retry_backoff, cap=config.retry_max_delay, rand=random.random())
                retry_after = error.headers.get("retry-after")
                if retry_after is not None:
                    asked = parse_retry_after(retry_after)
                    if asked is not None and asked > config.retry_max_delay:
                        raise error
                    delay = max(delay, asked or 0.0)
                failures += 1
                logger.debug("retry %d of %s %s in %.2fs after %d", failures, prepared.method, prepared.url, delay, status)
                state.count("retries")
                state.count_wait(delay, rate_limit=False)
                yield Sleep(delay, "retry")
                continue
            raise error

    def _rate_limit_pause(self, error: AsyncGitHubRateLimitError, gate_wait: float) -> float:
        """Seconds to pause the identity after a rate-limit rejection (at least what the gate holds)."""
        now = time.time()
        if not error.secondary and error.reset_time is not None:
            return primary_wait(error.reset_time.timestamp(), now)
        pauses = self.state.secondary_pauses.get(self.identity, 0)
        self.state.secondary_pauses[self.identity] = pauses + 1
        wait = secondary_wait(error.retry_after, pauses, default=self.config.secondary_rate_limit_wait, rand=random.random())
        return max(wait, gate_wait)

    def _held(self, prepared: PreparedRequest, wait: float, limit: RateLimit | None) -> AsyncGitHubRateLimitError:
        """A request not sent because the identity must wait longer than ``max_rate_limit_wait``."""
        what = f"{limit.resource} rate limit exhausted" if limit is not None else "paused after a secondary rate limit"
        return AsyncGitHubRateLimitError(
            f"{what}; waiting {wait:.0f}s exceeds max_rate_limit_wait={self.config.max_rate_limit_wait:g}s (not sent)",
            None,
            reset_time=limit.reset_time if limit is not None else None,
            retry_after=wait,
            secondary=limit is None,
            method=prepared.method,
            url=prepared.url,
        )


_Http = TypeVar("_Http", httpx.AsyncClient, httpx.Client)


def _asyncio() -> Any:
    """asyncio, imported on the first async wait: it costs ~15 ms at import, which
    ``from githubapp import AsyncGitHubClient`` should not pay (httpx does not import it either)."""
    import asyncio

    return asyncio


# -- drivers -------------------------------------------------------------------------------------
class _Driver(Generic[_Http]):
    """What both drivers hold: the httpx client, the credential, the shared state and the flow."""

    def __init__(self, http: _Http, auth: Auth | None, config: ClientConfig, state: PipelineState | None = None) -> None:
        self.http: _Http = http
        self.auth = auth
        self.state = state or PipelineState(config)
        self.flow = Flow(config, auth, self.state)


class Sender(Protocol):
    """Sends one request of the async driver in place of its httpx client, and reads the body:
    :class:`~githubapp.http.transports.AiohttpSender` (``transport="aiohttp"``).

    It must send what :func:`build_httpx_request` builds, follow redirects as the httpx client
    does, and raise the :class:`httpx.TransportError` that says whether the request was sent.
    """

    async def __call__(
        self, prepared: PreparedRequest, authorization: str | None, extra_headers: Sequence[tuple[str, str]]
    ) -> httpx.Response: ...


class AsyncPipeline(_Driver[httpx.AsyncClient]):
    """Carries out the flow with an :class:`httpx.AsyncClient` and asyncio (or with ``sender``)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        auth: Auth | None,
        config: ClientConfig,
        state: PipelineState | None = None,
        *,
        sender: Sender | None = None,
    ) -> None:
        super().__init__(http, auth, config, state)
        self.sender = sender

    async def send(self, prepared: PreparedRequest) -> httpx.Response:
        flow = self.flow.run(prepared)
        slot: asyncio.Semaphore | None = None
        value: Any = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    effect = flow.throw(error) if error is not None else flow.send(value)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]
                value = error = None
                if type(effect) is Send:
                    sender = self.sender
                    try:
                        if sender is not None:  # the direct path, awaited here: no coroutine of _transport
                            logger.debug("%s %s", effect.prepared.method, effect.prepared.url)
                            value = await sender(effect.prepared, effect.authorization, effect.extra_headers)
                        else:
                            value = await self._transport(effect)
                    except httpx.HTTPError as exc:
                        error = exc
                elif type(effect) is Sleep:
                    await _asyncio().sleep(effect.seconds)
                elif effect is AUTHORIZE:
                    assert self.auth is not None
                    value = await self.auth.async_authorization()
                elif effect is ACQUIRE:
                    slot = self.state.async_slot(self.flow.identity)
                    await slot.acquire()
        finally:
            flow.close()
            if slot is not None:
                slot.release()

    async def _transport(self, effect: Send) -> httpx.Response:
        request = build_httpx_request(self.http, effect.prepared, effect.authorization, effect.extra_headers)
        logger.debug("%s %s", request.method, request.url)
        response = await self.http.send(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response


class SyncPipeline(_Driver[httpx.Client]):
    """Carries out the same flow with an :class:`httpx.Client`, blocking (thread-safe)."""

    def send(self, prepared: PreparedRequest) -> httpx.Response:
        flow = self.flow.run(prepared)
        slot: threading.BoundedSemaphore | None = None
        value: Any = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    effect = flow.throw(error) if error is not None else flow.send(value)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]
                value = error = None
                if type(effect) is Send:
                    try:
                        value = self._transport(effect)
                    except httpx.HTTPError as exc:
                        error = exc
                elif type(effect) is Sleep:
                    time.sleep(effect.seconds)
                elif effect is AUTHORIZE:
                    assert self.auth is not None
                    value = self.auth.authorization()
                elif effect is ACQUIRE:
                    slot = self.state.thread_slot(self.flow.identity)
                    slot.acquire()
        finally:
            flow.close()
            if slot is not None:
                slot.release()

    def _transport(self, effect: Send) -> httpx.Response:
        request = build_httpx_request(self.http, effect.prepared, effect.authorization, effect.extra_headers)
        logger.debug("%s %s", request.method, request.url)
        response = self.http.send(request)
        try:
            response.read()
        finally:
            response.close()
        return response
