"""The exception hierarchy.

Every HTTP error carries what you need to act on it, and never a token::

    try:
        await gh.issues.get("octocat", "hello-world", 999999)
    except NotFoundError as exc:
        print(exc.status_code, exc.message, exc.documentation_url, exc.request_id)

``AsyncGitHubAPIError`` (HTTP errors) and ``AsyncGitHubRateLimitError`` keep the names of the
contract; ``GitHubAPIError`` and ``GitHubRateLimitError`` are the same classes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = [
    "GitHubError",
    "AsyncGitHubAPIError",
    "GitHubAPIError",
    "BadRequestError",
    "UnauthorizedError",
    "ForbiddenError",
    "NotFoundError",
    "GoneError",
    "ValidationFailedError",
    "ServerError",
    "AsyncGitHubRateLimitError",
    "GitHubRateLimitError",
    "TransportError",
    "CircuitOpenError",
    "ResponseValidationError",
    "SpecDriftWarning",
    "error_for_response",
]


class GitHubError(Exception):
    """Base of every error raised by githubapp."""


class AsyncGitHubAPIError(GitHubError):
    """GitHub answered with an HTTP error status.

    ``AsyncGitHubAPIError(message, status_code, response_data)`` plus request context.
    """

    def __init__(
        self,
        message: str,
        status_code: int | None = None,
        response_data: Any = None,
        *,
        method: str | None = None,
        url: str | None = None,
        documentation_url: str | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.response_data = response_data
        self.method = method
        self.url = url
        self.documentation_url = documentation_url
        self.request_id = request_id
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self._describe())

    @property
    def errors(self) -> list[Any]:
        """GitHub's ``errors`` list (422 validation details), if any."""
        data = self.response_data
        return list(data.get("errors") or []) if isinstance(data, dict) else []

    def _describe(self) -> str:
        parts = [f"{self.status_code} {self.message}" if self.status_code else self.message]
        if self.method and self.url:
            parts.append(f"({self.method} {self.url})")
        if self.errors:
            parts.append(f"errors={self.errors!r}")
        if self.documentation_url:
            parts.append(f"docs: {self.documentation_url}")
        if self.request_id:
            parts.append(f"request id: {self.request_id}")
        return " ".join(parts)


GitHubAPIError = AsyncGitHubAPIError


class BadRequestError(AsyncGitHubAPIError):
    """400: the request was malformed."""


class UnauthorizedError(AsyncGitHubAPIError):
    """401: missing, bad or expired credentials."""


class ForbiddenError(AsyncGitHubAPIError):
    """403 that is not a rate limit: the identity may not do this."""


class NotFoundError(AsyncGitHubAPIError):
    """404: not there, or not visible to this identity."""


class GoneError(AsyncGitHubAPIError):
    """410: the resource is gone (disabled feature, deleted thing)."""


class ValidationFailedError(AsyncGitHubAPIError):
    """422: GitHub rejected the fields; see :attr:`errors`."""


class ServerError(AsyncGitHubAPIError):
    """5xx from GitHub."""


class AsyncGitHubRateLimitError(AsyncGitHubAPIError):
    """A primary or secondary rate limit rejected the request.

    ``reset_time`` is when the primary limit resets (aware UTC datetime) and ``retry_after`` the
    seconds GitHub asked to wait; ``secondary`` tells which limit it was.
    """

    def __init__(
        self,
        message: str = "rate limit exceeded",
        status_code: int | None = 403,
        response_data: Any = None,
        *,
        reset_time: datetime | None = None,
        retry_after: float | None = None,
        secondary: bool = False,
        **context: Any,
    ) -> None:
        self.reset_time = reset_time
        self.retry_after = retry_after
        self.secondary = secondary
        super().__init__(message, status_code, response_data, **context)

    def _describe(self) -> str:
        text = super()._describe()
        if self.reset_time is not None:
            text += f" resets at {self.reset_time.isoformat()}"
        if self.retry_after is not None:
            text += f" retry after {self.retry_after:g}s"
        return text


GitHubRateLimitError = AsyncGitHubRateLimitError


class TransportError(GitHubError):
    """The request did not get an HTTP answer (connect error, timeout, protocol error)."""

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        self.method = method
        self.url = url
        super().__init__(f"{message} ({method} {url})" if method else message)


class CircuitOpenError(GitHubError):
    """Recent requests to ``base_url`` kept failing; this one was not sent (fail fast).

    ``retry_in``: seconds until one probe request is let through again.
    """

    def __init__(self, base_url: str, retry_in: float, failures: int) -> None:
        self.base_url = base_url
        self.retry_in = retry_in
        self.failures = failures
        super().__init__(
            f"circuit open for {base_url} after {failures} consecutive failures; next probe in {retry_in:.1f}s"
        )


class ResponseValidationError(GitHubError):
    """A 2xx payload did not match the spec and ``ClientConfig(validation="strict")`` is set."""

    def __init__(self, context: str, detail: str) -> None:
        self.context = context
        self.detail = detail
        super().__init__(f"{context}: response does not match the spec: {detail}")


class SpecDriftWarning(UserWarning):
    """A 2xx payload did not match the spec; the value was kept as sent (lenient mode)."""


_SECONDARY = re.compile(r"secondary rate limit|abuse detection", re.I)

_BY_STATUS: dict[int, type[AsyncGitHubAPIError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    410: GoneError,
    422: ValidationFailedError,
}


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds or as an HTTP date -> seconds to wait (never negative)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # RFC 9110: delay-seconds is 1*DIGIT (no "inf", no exponents)
        return float(value)
    try:
        return max(0.0, float(value)) if math.isfinite(float(value)) else None
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_for_response(
    method: str, url: str, status: int, headers: Mapping[str, str], content: bytes
) -> AsyncGitHubAPIError:
    """The exception for an error response: a pure function of the response."""
    data: Any
    try:
        data = json.loads(content) if content else None
    except ValueError:
        data = content.decode("utf-8", "replace")[:2000]
    message = ""
    documentation_url = None
    if isinstance(data, dict):
        message = str(data.get("message") or "")
        documentation_url = data.get("documentation_url")
    elif isinstance(data, str):
        message = data.strip()[:200]
    lower = {k.lower(): v for k, v in headers.items()}
    context: dict[str, Any] = {
        "method": method,
        "url": url,
        "documentation_url": documentation_url,
        "request_id": lower.get("x-github-request-id"),
        "headers": lower,
    }
    message = message or f"HTTP {status}"
    if status in (403, 429):
        retry_after = parse_retry_after(lower.get("retry-after"))
        if lower.get("x-ratelimit-remaining") == "0" and retry_after is None:
            reset = lower.get("x-ratelimit-reset")
            reset_time = datetime.fromtimestamp(int(reset), UTC) if reset and reset.isdigit() else None
            return AsyncGitHubRateLimitError(message, status, data, reset_time=reset_time, **context)
        if retry_after is not None or _SECONDARY.search(message) or status == 429:
            return AsyncGitHubRateLimitError(message, status, data, retry_after=retry_after, secondary=True, **context)
    if status >= 500:
        return ServerError(message, status, data, **context)
    return _BY_STATUS.get(status, AsyncGitHubAPIError)(message, status, data, **context)
