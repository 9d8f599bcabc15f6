"""Rate-limit state per identity and resource, and the waits it implies (no I/O, no sleeping).

    state = RateLimitState()
    state.observe(identity, response)                    # x-ratelimit-* of every response
    state.wait_before(identity, "core", now=time.time()) # seconds to hold the next request

Primary limit: once ``remaining`` hits 0, further requests of that identity and resource wait for
``reset`` (+1 s). Secondary limit: the whole identity pauses for ``Retry-After`` (or
``secondary_rate_limit_wait x 2^n`` with jitter when GitHub gives none).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from .headers import HeaderReader

__all__ = ["RateLimit", "RateLimitState", "RateLimitView", "resource_for", "secondary_wait", "primary_wait"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The last ``x-ratelimit-*`` values seen for one identity and resource."""

    resource: str
    limit: int | None
    remaining: int
    used: int | None
    reset: float  # epoch seconds

    @property
    def reset_time(self) -> datetime:
        return datetime.fromtimestamp(self.reset, UTC)


def resource_for(url: str) -> str:
    """The rate-limit bucket a request most likely counts against (GitHub names it in
    ``x-ratelimit-resource`` on the answer; this is the guess used before sending)."""
    if "/search/" not in url and "graphql" not in url:  # the common case, without parsing the URL
        return "core"
    path = urlsplit(url).path
    if path.endswith("/graphql"):
        return "graphql"
    if "/search/code" in path:
        return "code_search"
    if "/search/" in path:
        return "search"
    return "core"


def primary_wait(reset: float, now: float) -> float:
    """Seconds until a primary limit resets, plus one second of margin."""
    return max(0.0, reset - now + 1.0)


def secondary_wait(retry_after: float | None, pauses_so_far: int, *, default: float, rand: float) -> float:
    """Seconds to pause an identity after a secondary limit: ``Retry-After`` when GitHub sent it,
    else ``default x 2^n`` with up to 25 % jitter (never less than asked)."""
    if retry_after is not None:
        return retry_after
    return default * (2.0 ** min(pauses_so_far, 16)) * (1.0 + rand / 4)


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


#: the headers :meth:`RateLimitState.observe` reads: remaining, reset, resource, limit, used
_NAMES: Final = ("x-ratelimit-remaining", "x-ratelimit-reset", "x-ratelimit-resource", "x-ratelimit-limit", "x-ratelimit-used")
_ratelimit_headers: Final = HeaderReader(_NAMES)


class RateLimitState:
    """What the pipeline knows about limits, per identity; shared by clients that share it."""

    def __init__(self) -> None:
        self._limits: dict[tuple[str, str], RateLimit] = {}
        self._paused_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def observe(
        self, identity: str, headers: httpx.Response | Mapping[str, str], fallback_resource: str = "core"
    ) -> RateLimit | None:
        """Record the ``x-ratelimit-*`` headers of a response, or of a mapping of headers (ignored when absent)."""
        if isinstance(headers, httpx.Response):
            remaining, reset, resource, limit, used = _ratelimit_headers.of(headers)
        else:
            remaining, reset, resource, limit, used = _ratelimit_headers(headers)
        remaining_n, reset_n = _int(remaining), _int(reset)
        if remaining_n is None or reset_n is None:
            return None
        resource = resource or fallback_resource
        observed = RateLimit(resource, _int(limit), remaining_n, _int(used), float(reset_n))
        with self._lock:
            self._limits[(identity, resource)] = observed
        return observed

    def pause(self, identity: str, until: float) -> None:
        """Hold every request of ``identity`` until ``until`` (epoch seconds)."""
        with self._lock:
            self._paused_until[identity] = max(until, self._paused_until.get(identity, 0.0))

    def wait_before(self, identity: str, resource: str, now: float) -> tuple[float, RateLimit | None]:
        """Seconds to hold a request of ``identity`` on ``resource`` now, and the exhausted limit if any."""
        wait = max(0.0, self._paused_until.get(identity, 0.0) - now)
        limit = self._limits.get((identity, resource))
        if limit is not None and limit.remaining == 0 and limit.reset + 1.0 > now:
            return max(wait, primary_wait(limit.reset, now)), limit
        return wait, None

    def snapshot(self, identity: str | None = None) -> dict[str, RateLimit]:
        """The known limits of ``identity`` (or of every identity, keyed ``identity/resource``)."""
        with self._lock:
            items = list(self._limits.items())
        if identity is not None:
            return {resource: limit for (who, resource), limit in items if who == identity}
        return {f"{who}/{resource}": limit for (who, resource), limit in items}

    def paused_until(self, identity: str) -> float:
        return self._paused_until.get(identity, 0.0)


class RateLimitView:
    """``gh.rate_limit``: the limits this client's identity has seen, per resource, without a request.

        gh.rate_limit["core"].remaining        # from the last response's x-ratelimit-* headers
        gh.rate_limit.state                     # {"core": RateLimit(...), "search": ...}
        gh.rate_limit.paused_until              # epoch seconds a secondary limit holds requests until
        await gh.rate_limit.get()               # the REST endpoint, asking GitHub (free of charge)
    """

    __slots__ = ()
    _client: Any

    @property
    def state(self) -> dict[str, RateLimit]:
        pipeline = self._client._pipeline
        return pipeline.state.limits.snapshot(pipeline.flow.identity)  # type: ignore[no-any-return]

    @property
    def paused_until(self) -> float:
        pipeline = self._client._pipeline
        return pipeline.state.limits.paused_until(pipeline.flow.identity)  # type: ignore[no-any-return]

    def __getitem__(self, resource: str) -> RateLimit:
        try:
            return self.state[resource]
        except KeyError:
            raise KeyError(f"no x-ratelimit headers seen yet for resource {resource!r}") from None
