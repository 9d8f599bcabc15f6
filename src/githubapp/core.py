"""Compatibility with ``fastapi-githubapp`` 0.2.7: every name ``githubapp.core`` exported.

Code written for 0.2.7 keeps working::

    from githubapp.core import GitHubApp, GitHubAppError, GitHubRateLimitError, InstallationAuthorization

    @github_app.on("issues.opened")
    @with_rate_limit_handling(github_app)
    def reply():
        client = github_app.get_client()          # calls retried on rate limits
        client.issues.create_comment(owner="o", repo="r", issue_number=1, body="Thanks!")

The exception classes also fit the new hierarchy (:mod:`githubapp.errors`): ``GithubUnauthorized``
is an :class:`~githubapp.errors.UnauthorizedError`, ``GitHubRateLimitError`` an
:class:`~githubapp.errors.AsyncGitHubRateLimitError`, and so on, so ``except`` clauses written
against either API catch them. :func:`retry_with_rate_limit` and :func:`with_rate_limit_handling`
behave as in 0.2.7 and also accept ``async`` functions.
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import inspect
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, TypeVar, cast, overload

import anyio

from ._operation import AsyncNamespace, SyncNamespace
from .auth import mask
from .auth.app import InstallationToken, parse_expires_at
from .errors import (
    AsyncGitHubAPIError,
    AsyncGitHubRateLimitError,
    ForbiddenError,
    GitHubError,
    NotFoundError,
    UnauthorizedError,
    ValidationFailedError,
)

if TYPE_CHECKING:
    from .app import GitHubApp as GitHubApp  # type: ignore[attr-defined, unused-ignore]

__all__ = [
    "GitHubApp",
    "STATUS_FUNC_CALLED",
    "STATUS_NO_FUNC_CALLED",
    "GitHubAppError",
    "GitHubAppValidationError",
    "GitHubAppBadCredentials",
    "GithubUnauthorized",
    "GithubAppUnkownObject",
    "GitHubRateLimitError",
    "GitHubAppAPIError",
    "InstallationAuthorization",
    "RateLimitedGhApi",
    "RateLimitRetry",
    "retry_with_rate_limit",
    "with_rate_limit_handling",
    "rate_limit_handling_active",
    "compat_error",
]

LOG = logging.getLogger("githubapp.core")

P = ParamSpec("P")
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

STATUS_FUNC_CALLED = "HIT"
STATUS_NO_FUNC_CALLED = "MISS"


def __getattr__(name: str) -> Any:
    """``GitHubApp`` lives in :mod:`githubapp.app`; imported on first use (no import cycle)."""
    if name == "GitHubApp":
        try:
            value = importlib.import_module(".app", __package__).GitHubApp
        except (ImportError, AttributeError) as exc:
            raise ImportError(f"githubapp.core.GitHubApp is unavailable: {exc}") from exc
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- exceptions -----------------------------------------------------------------------------------


class GitHubAppError(GitHubError):
    """Base of the 0.2.7 errors: ``GitHubAppError(message="GitHub App error", status=None, data=None)``.

    ``message``, ``status`` and ``data`` are kept as attributes; ``str(exc)`` is the message (plus
    the request, when there was one).
    """

    default_message: ClassVar[str] = "GitHub App error"
    message: str
    status: int | None
    data: Any

    def __init__(self, message: str | None = None, status: int | None = None, data: Any = None, **context: Any) -> None:
        text = self.default_message if message is None else message
        self.status = status
        self.data = data
        if isinstance(self, AsyncGitHubAPIError):  # the errors.* class next in the MRO sets the context
            cast(Any, super()).__init__(text, status, data, **context)
        else:
            if context:
                raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(context)}")
            self.message = text
            super().__init__(text)

    def _describe(self) -> str:
        if getattr(self, "method", None) and getattr(self, "url", None):
            return cast(str, cast(Any, super())._describe())
        return self.message


class GitHubAppAPIError(GitHubAppError, AsyncGitHubAPIError):
    """An HTTP error of the app's own calls that has no more specific 0.2.7 class (e.g. 5xx)."""


class GitHubAppValidationError(GitHubAppError, ValidationFailedError):
    """422 (and invalid app input): ``GitHubAppValidationError(message, status, data)``."""

    default_message = "GitHub App validation error"


class GitHubAppBadCredentials(GitHubAppError, ForbiddenError):
    """403 for the app's credentials."""

    default_message = "GitHub App bad credentials"


class GithubUnauthorized(GitHubAppError, UnauthorizedError):
    """401: bad or expired JWT / token."""

    default_message = "GitHub unauthorized"


class GithubAppUnkownObject(GitHubAppError, NotFoundError):
    """404: unknown installation or object (the 0.2.7 spelling is kept)."""

    default_message = "GitHub object not found"


class GitHubRateLimitError(GitHubAppError, AsyncGitHubRateLimitError):
    """A rate limit that retries did not get past.

    ``GitHubRateLimitError(message, status, data, rate_limit_info)`` as in 0.2.7 (``rate_limit_info``:
    limit, remaining, reset, used, resource, retry_after from the headers), plus ``reset_time``,
    ``retry_after`` and ``secondary`` of :class:`~githubapp.errors.AsyncGitHubRateLimitError`.
    """

    default_message = "GitHub rate limit exceeded"
    rate_limit_info: dict[str, Any]

    def __init__(
        self,
        message: str | None = None,
        status: int | None = None,
        data: Any = None,
        rate_limit_info: Mapping[str, Any] | None = None,
        **context: Any,
    ) -> None:
        self.rate_limit_info = dict(rate_limit_info or {})
        info = self.rate_limit_info
        if context.get("reset_time") is None and str(info.get("reset") or "").isdigit():
            context["reset_time"] = parse_expires_at(int(info["reset"]))
        if context.get("retry_after") is None and info.get("retry_after") is not None:
            context["retry_after"] = _number(info["retry_after"])
        super().__init__(message, status, data, **context)


_COMPAT_BY_STATUS: dict[int, type[GitHubAppError]] = {
    401: GithubUnauthorized,
    403: GitHubAppBadCredentials,
    404: GithubAppUnkownObject,
    422: GitHubAppValidationError,
}


def compat_error(exc: AsyncGitHubAPIError, message: str | None = None) -> GitHubAppError:
    """The 0.2.7 exception for one of ours (raise it ``from exc``); request context is kept.

    401 -> :class:`GithubUnauthorized`, 403 -> :class:`GitHubAppBadCredentials`, 404 ->
    :class:`GithubAppUnkownObject`, 422 -> :class:`GitHubAppValidationError`, rate limits ->
    :class:`GitHubRateLimitError`, anything else -> :class:`GitHubAppAPIError`.
    """
    context: dict[str, Any] = {
        "method": exc.method,
        "url": exc.url,
        "documentation_url": exc.documentation_url,
        "request_id": exc.request_id,
        "headers": exc.headers,
    }
    text = message or exc.message
    if isinstance(exc, AsyncGitHubRateLimitError):
        return GitHubRateLimitError(
            text,
            exc.status_code,
            exc.response_data,
            _rate_limit_info(exc.headers),
            reset_time=exc.reset_time,
            retry_after=exc.retry_after,
            secondary=exc.secondary,
            **context,
        )
    cls = _COMPAT_BY_STATUS.get(exc.status_code or 0, GitHubAppAPIError)
    return cls(text, exc.status_code, exc.response_data, **context)


# -- installation authorization -----------------------------------------------------------------


class InstallationAuthorization:
    """An installation token as 0.2.7 returned it: ``.token`` and ``.expires_at`` (as given).

    ``expires_at`` may be an ISO 8601 string (as GitHub sends it), a datetime or a Unix timestamp;
    ``None`` means it never expires::

        auth = InstallationAuthorization("ghs_...", "2030-01-01T00:00:00Z")
        auth.expired()      # False until 2030
    """

    __slots__ = ("expires_at", "token")

    def __init__(self, token: str, expires_at: datetime | str | float | None = None) -> None:
        self.token = token
        self.expires_at = expires_at

    @classmethod
    def from_token(cls, token: InstallationToken) -> InstallationAuthorization:
        """From an :class:`~githubapp.auth.app.InstallationToken`; ``expires_at`` is GitHub's string form."""
        return cls(token.token, token.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"))

    @property
    def expires_at_datetime(self) -> datetime | None:
        """``expires_at`` as an aware UTC datetime (``None`` when there is no expiry)."""
        return None if self.expires_at is None else parse_expires_at(self.expires_at)

    def expired(self, now: datetime | float | None = None) -> bool:
        """``True`` once ``expires_at`` has passed (never, without one).

        Unlike 0.2.7 (where a string ``expires_at`` never expired), strings are parsed.
        """
        expiry = self.expires_at_datetime
        if expiry is None:
            return False
        if now is None:
            current = time.time()
        elif isinstance(now, datetime):
            current = parse_expires_at(now).timestamp()
        else:
            current = float(now)
        return current > expiry.timestamp()

    def __repr__(self) -> str:
        token = mask(self.token) if isinstance(self.token, str) else "***"
        return f"InstallationAuthorization(token={token!r}, expires_at={self.expires_at!r})"


# -- rate-limit retries -------------------------------------------------------------------------


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    getter = getattr(headers, "get", None)
    if getter is None:
        return None
    value = getter(name)
    if value is None and isinstance(headers, Mapping):
        value = next((v for k, v in headers.items() if str(k).lower() == name), None)
    return None if value is None else str(value)


def _number(value: Any) -> float | None:
    """A header value as seconds (``"30"``), or ``None`` when absent or not a number."""
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _rate_limit_info(headers: Any) -> dict[str, Any]:
    return {
        "limit": _header(headers, "x-ratelimit-limit"),
        "remaining": _header(headers, "x-ratelimit-remaining"),
        "reset": _header(headers, "x-ratelimit-reset"),
        "used": _header(headers, "x-ratelimit-used"),
        "resource": _header(headers, "x-ratelimit-resource"),
        "retry_after": _header(headers, "retry-after"),
    }


@dataclass(frozen=True)
class _Limited:
    """What a rate-limit rejection said: its status, headers and the waits it asked for."""

    status: int | None
    headers: Any
    retry_after: float | None
    reset_at: float | None


def _rate_limited(exc: BaseException) -> _Limited | None:
    """The rate-limit details of ``exc``, or ``None`` when it is not a rate-limit rejection.

    Ours are classified already; other libraries' errors (``.response`` like httpx, or ``.code``
    and ``.headers`` like ghapi / urllib) count when 429, or 403 with ``x-ratelimit-remaining: 0``.
    """
    if isinstance(exc, GitHubRateLimitError):
        return None  # an inner retry already gave up: do not multiply the waits
    if isinstance(exc, AsyncGitHubRateLimitError):
        reset = exc.reset_time.timestamp() if exc.reset_time is not None else None
        return _Limited(exc.status_code, exc.headers, exc.retry_after, reset)
    if isinstance(exc, AsyncGitHubAPIError):
        return None
    response = getattr(exc, "response", None)
    if response is not None:
        status, headers = getattr(response, "status_code", None), getattr(response, "headers", None)
    elif getattr(exc, "code", None) in (429, 403):
        status, headers = exc.code, getattr(exc, "headers", None)  # type: ignore[attr-defined]
    else:
        return None
    if not (status == 429 or (status == 403 and _header(headers, "x-ratelimit-remaining") == "0")):
        return None
    retry_after = _number(_header(headers, "retry-after"))
    reset_at = _number(_header(headers, "x-ratelimit-reset"))
    return _Limited(status if isinstance(status, int) else None, headers, retry_after, reset_at)


def _name_of(func: Callable[..., Any]) -> str:
    return str(getattr(func, "__name__", None) or type(func).__name__)


def _is_async_callable(func: Any) -> bool:
    while isinstance(func, functools.partial):
        func = func.func
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(getattr(func, "__call__", None))  # noqa: B004


@dataclass(frozen=True)
class RateLimitRetry:
    """Retry a call that hit a GitHub rate limit, as 0.2.7's ``retry_with_rate_limit`` did.

    Up to ``retries`` more attempts; before each, wait what GitHub asked for (``Retry-After``,
    else until ``x-ratelimit-reset``, else 60 s x 2^attempt capped at ``max_sleep``), but give up
    with :class:`GitHubRateLimitError` when that wait exceeds ``max_sleep``. Other errors pass
    through untouched::

        retry = RateLimitRetry(retries=3, max_sleep=120)
        issue = retry(gh.issues.get, "o", "r", 1)              # blocking call
        issue = await retry(agh.issues.get, "o", "r", 1)       # async call: returns a coroutine
    """

    retries: int = 2
    max_sleep: float = 60.0
    sleep: Callable[[float], None] | None = None  # default: time.sleep
    async_sleep: Callable[[float], Awaitable[None]] | None = None  # default: anyio.sleep
    clock: Callable[[], float] | None = None  # default: time.time

    def __post_init__(self) -> None:
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise ValueError(f"retries: must be an integer >= 0, got {self.retries!r}")
        if not isinstance(self.max_sleep, int | float) or not math.isfinite(self.max_sleep) or self.max_sleep < 0:
            raise ValueError(f"max_sleep: must be a finite number >= 0, got {self.max_sleep!r}")

    @classmethod
    def for_app(cls, github_app: Any) -> RateLimitRetry:
        """The policy of a ``GitHubApp`` (its ``rate_limit_retries`` / ``rate_limit_max_sleep``)."""
        retries = getattr(github_app, "_rate_limit_retries", None)
        max_sleep = getattr(github_app, "_rate_limit_max_sleep", None)
        return cls(
            retries=2 if retries is None else max(0, int(retries)),
            max_sleep=60.0 if max_sleep is None else max(0.0, float(max_sleep)),
        )

    def retry_delay(self, exc: BaseException, attempt: int) -> float | None:
        """Seconds to wait before retry number ``attempt + 1`` after ``exc``; ``None`` when there is
        no retry: ``exc`` is not a rate limit, the retries are used up, or the wait exceeds ``max_sleep``."""
        limited = _rate_limited(exc)
        if limited is None or attempt >= self.retries:
            return None
        wait = self._wait(limited, attempt)
        return wait if wait <= self.max_sleep else None

    def _wait(self, limited: _Limited, attempt: int) -> float:
        if limited.retry_after is not None:
            return max(0.0, limited.retry_after)
        if limited.reset_at is not None:
            wait = limited.reset_at - (self.clock or time.time)()
            if wait > 0:
                return wait
        return float(min(60 * 2**attempt, self.max_sleep))

    def _give_up(self, exc: BaseException, name: str) -> GitHubRateLimitError:
        limited = _rate_limited(exc)
        assert limited is not None
        context: dict[str, Any] = {}
        if isinstance(exc, AsyncGitHubRateLimitError):
            context = {
                "reset_time": exc.reset_time,
                "retry_after": exc.retry_after,
                "secondary": exc.secondary,
                "method": exc.method,
                "url": exc.url,
                "documentation_url": exc.documentation_url,
                "request_id": exc.request_id,
                "headers": exc.headers,
            }
        return GitHubRateLimitError(
            f"Rate limit exceeded in client call: {name}",
            limited.status,
            str(exc),
            _rate_limit_info(limited.headers),
            **context,
        )

    def _next_delay(self, exc: BaseException, attempt: int, name: str) -> float | None:
        """The wait before the next try; ``None``: re-raise ``exc``; raises when giving up on a limit."""
        wait = self.retry_delay(exc, attempt)
        if wait is None:
            if _rate_limited(exc) is not None:
                raise self._give_up(exc, name) from exc
            return None
        LOG.warning("rate limited in %s; retrying in %.1fs (retry %d of %d)", name, wait, attempt + 1, self.retries)
        return wait

    def call(self, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Call blocking ``func(*args, **kwargs)`` with retries (an awaitable result is retried async)."""
        attempt = 0
        while True:
            try:
                result = func(*args, **kwargs)
            except Exception as exc:
                wait = self._next_delay(exc, attempt, _name_of(func))
                if wait is None:
                    raise
                (self.sleep or time.sleep)(wait)
                attempt += 1
                continue
            if inspect.isawaitable(result):  # e.g. a lambda around an async call
                return cast(T, self._acontinue(result, attempt, func, args, kwargs))
            return result

    async def acall(self, func: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """Await ``func(*args, **kwargs)`` with retries, sleeping without blocking the loop."""
        return cast(T, await self._acontinue(None, 0, func, args, kwargs))

    async def _acontinue(
        self, pending: Awaitable[Any] | None, attempt: int, func: Callable[..., Any], args: Any, kwargs: Any
    ) -> Any:
        while True:
            try:
                if pending is None:
                    pending = func(*args, **kwargs)
                result = await pending if inspect.isawaitable(pending) else pending
            except Exception as exc:
                wait = self._next_delay(exc, attempt, _name_of(func))
                if wait is None:
                    raise
                await (self.async_sleep or anyio.sleep)(wait)
                attempt += 1
                pending = None
                continue
            return result

    @overload
    def __call__(
        self, func: Callable[P, Coroutine[Any, Any, T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> Coroutine[Any, Any, T]: ...
    @overload
    def __call__(self, func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T: ...
    def __call__(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if _is_async_callable(func):
            return self.acall(func, *args, **kwargs)
        return self.call(func, *args, **kwargs)


_ACTIVE: contextvars.ContextVar[RateLimitRetry | None] = contextvars.ContextVar("githubapp_rate_limit", default=None)


def rate_limit_handling_active() -> RateLimitRetry | None:
    """The policy of the enclosing :func:`with_rate_limit_handling` handler, if any.

    A ``GitHubApp.client()`` that sees one returns a :class:`RateLimitedGhApi`.
    """
    return _ACTIVE.get()


@overload
def retry_with_rate_limit(
    func: Callable[P, Coroutine[Any, Any, T]], /, *args: P.args, **kwargs: P.kwargs
) -> Coroutine[Any, Any, T]: ...
@overload
def retry_with_rate_limit(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T: ...
def retry_with_rate_limit(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Call ``func(*args, **kwargs)``, retrying on rate limits (0.2.7's ``GitHubApp.retry_with_rate_limit``).

    Uses the enclosing :func:`with_rate_limit_handling` app's settings, else 2 retries and at most
    60 s of sleep. An ``async`` function gives a coroutine to await::

        def setup():
            client.issues.create(owner="o", repo="r", title="Welcome!")
        retry_with_rate_limit(setup)
        await retry_with_rate_limit(gh.issues.get, "o", "r", 1)
    """
    return (_ACTIVE.get() or RateLimitRetry())(func, *args, **kwargs)


class _RateLimitedNamespace:
    """``client.issues`` behind a :class:`RateLimitedGhApi`: each operation call retried."""

    __slots__ = ("_namespace", "_retry")

    def __init__(self, namespace: Any, retry: Callable[..., Any]) -> None:
        self._namespace = namespace
        self._retry = retry

    def __getattr__(self, name: str) -> Any:
        return _wrapped(getattr(self._namespace, name), self._retry)

    def __dir__(self) -> list[str]:
        return dir(self._namespace)

    def __repr__(self) -> str:
        return f"RateLimited({self._namespace!r})"


def _wrapped(attr: Any, retry: Callable[..., Any]) -> Any:
    if isinstance(attr, AsyncNamespace | SyncNamespace):
        return _RateLimitedNamespace(attr, retry)
    if callable(attr) and not isinstance(attr, type):

        @functools.wraps(attr)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return retry(attr, *args, **kwargs)

        return wrapper
    return attr


class RateLimitedGhApi:
    """A client whose calls retry on rate limits: ``RateLimitedGhApi(client, github_app)`` (0.2.7).

    Wraps our :class:`~githubapp.GitHubClient` (or an async one, or a GhApi) with the same
    call style, ``api.issues.create_comment(owner=..., repo=..., issue_number=..., body=...)``.
    Retries follow the app's ``rate_limit_retries`` / ``rate_limit_max_sleep``, or the keywords::

        api = RateLimitedGhApi(GitHubClient(token=tok), rate_limit_retries=3, rate_limit_max_sleep=120)
        api.issues.create_comment("o", "r", 1, body="Hi")
    """

    def __init__(
        self,
        ghapi_instance: Any,
        github_app_instance: Any = None,
        *,
        rate_limit_retries: int | None = None,
        rate_limit_max_sleep: float | None = None,
    ) -> None:
        if isinstance(ghapi_instance, RateLimitedGhApi):  # never retry twice over
            ghapi_instance = ghapi_instance._ghapi
        self._ghapi: Any = ghapi_instance
        self._github_app: Any = github_app_instance
        policy = RateLimitRetry.for_app(github_app_instance)
        if rate_limit_retries is not None or rate_limit_max_sleep is not None:
            policy = RateLimitRetry(
                retries=policy.retries if rate_limit_retries is None else rate_limit_retries,
                max_sleep=policy.max_sleep if rate_limit_max_sleep is None else rate_limit_max_sleep,
            )
            self._github_app = None  # explicit settings win over the app's own retry method
        self._policy = policy

    def _retry(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        app_retry = getattr(self._github_app, "retry_with_rate_limit", None)
        if callable(app_retry) and not _is_async_callable(func):
            return app_retry(func, *args, **kwargs)  # 0.2.7: the app decides
        return self._policy(func, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _wrapped(getattr(self._ghapi, name), self._retry)

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self._ghapi)) | set(super().__dir__()))

    def __repr__(self) -> str:
        return (
            f"RateLimitedGhApi({self._ghapi!r}, retries={self._policy.retries}, max_sleep={self._policy.max_sleep:g})"
        )


_PATCH_LOCK = threading.Lock()
_PATCHED = "_githubapp_rate_limit_patch"


def _patch_app_clients(github_app: Any) -> None:
    """Make ``github_app.client`` / ``get_client`` return a :class:`RateLimitedGhApi` while a
    :func:`with_rate_limit_handling` handler runs (in its context only; safe under concurrency).

    Apps that check :func:`rate_limit_handling_active` themselves set ``rate_limit_context_aware``.
    """
    if getattr(github_app, "rate_limit_context_aware", False):
        return
    with _PATCH_LOCK:
        current = getattr(github_app, "client", None)
        if current is None or getattr(current, _PATCHED, False):
            return
        original_client = current
        original_get_client = getattr(github_app, "get_client", None)

        @functools.wraps(original_client)
        def client(installation_id: Any = None) -> Any:
            api = original_client(installation_id)
            return RateLimitedGhApi(api, github_app) if _ACTIVE.get() is not None else api

        setattr(client, _PATCHED, True)
        github_app.client = client
        if original_get_client is not None:

            @functools.wraps(original_get_client)
            def get_client(installation_id: Any = None) -> Any:
                if _ACTIVE.get() is not None:
                    return RateLimitedGhApi(original_client(installation_id), github_app)
                return original_get_client(installation_id)

            setattr(get_client, _PATCHED, True)
            github_app.get_client = get_client


def with_rate_limit_handling(github_app: Any) -> Callable[[F], F]:
    """Decorator: inside the handler, ``github_app.client()`` / ``get_client()`` retry on rate limits.

    Works for sync and ``async`` handlers, with the app's ``rate_limit_retries`` and
    ``rate_limit_max_sleep``::

        @github_app.on("issues.opened")
        @with_rate_limit_handling(github_app)
        def handle_issue():
            github_app.get_client().issues.create_comment(owner="o", repo="r", issue_number=1, body="Hi")
    """

    def decorator(func: F) -> F:
        if _is_async_callable(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                _patch_app_clients(github_app)
                token = _ACTIVE.set(RateLimitRetry.for_app(github_app))
                try:
                    return await func(*args, **kwargs)
                finally:
                    _ACTIVE.reset(token)

            return cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _patch_app_clients(github_app)
            token = _ACTIVE.set(RateLimitRetry.for_app(github_app))
            try:
                return func(*args, **kwargs)
            finally:
                _ACTIVE.reset(token)

        return cast(F, wrapper)

    return decorator
