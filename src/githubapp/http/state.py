"""Everything the pipeline remembers, in one object: rate limits, breakers, cache, write slots, counters.

One :class:`PipelineState` per client by default; clients that should see the same limits and
cache (the GitHub App framework's installation clients) share one::

    state = PipelineState(config)
    gh1 = AsyncGitHubClient(auth=a1, state=state)
    gh2 = AsyncGitHubClient(auth=a2, state=state)
    state.stats()                      # PipelineStats snapshot
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .breaker import BreakerRegistry, BreakerState
from .cache import CacheStats, ResponseCache
from .ratelimit import RateLimitState
from .throttle import WriteSpacer

if TYPE_CHECKING:
    import asyncio

    from ..config import ClientConfig

__all__ = ["PipelineState", "PipelineStats", "BreakerStats"]


@dataclass(frozen=True, slots=True)
class BreakerStats:
    state: BreakerState
    consecutive_failures: int
    trips: int


@dataclass(frozen=True, slots=True)
class PipelineStats:
    """A snapshot of what the pipeline did (``gh.stats``)."""

    requests: int = 0
    """requests sent over the network (cache hits served without sending are not counted)"""
    retries: int = 0
    waits: int = 0
    wait_seconds: float = 0.0
    rate_limit_waits: int = 0
    auth_refreshes: int = 0
    cache: CacheStats = field(default_factory=CacheStats)
    breakers: dict[str, BreakerStats] = field(default_factory=dict)

    @property
    def breaker_trips(self) -> int:
        return sum(b.trips for b in self.breakers.values())


class PipelineState:
    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.limits = RateLimitState()
        self.breakers = BreakerRegistry(threshold=config.breaker_threshold, cooldown=config.breaker_cooldown)
        self.cache = ResponseCache(ttl=config.cache_ttl, fresh_for=config.cache_fresh_for, max_bytes=config.cache_max_bytes)
        self.spacer = WriteSpacer(config.write_spacing)
        self.requests = 0
        self.retries = 0
        self.waits = 0
        self.wait_seconds = 0.0
        self.rate_limit_waits = 0
        self.auth_refreshes = 0
        self.secondary_pauses: dict[str, int] = {}
        self._async_slots: dict[str, asyncio.Semaphore] = {}
        self._thread_slots: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def async_slot(self, identity: str) -> asyncio.Semaphore:
        """The concurrency bound of ``identity`` for async clients (``max_concurrency`` in flight)."""
        slot = self._async_slots.get(identity)
        if slot is None:
            import asyncio  # deferred: see http/pipeline.py _asyncio

            slot = self._async_slots.setdefault(identity, asyncio.Semaphore(self.config.max_concurrency))
        return slot

    def thread_slot(self, identity: str) -> threading.BoundedSemaphore:
        """The same bound for blocking clients."""
        with self._lock:
            slot = self._thread_slots.get(identity)
            if slot is None:
                slot = self._thread_slots[identity] = threading.BoundedSemaphore(self.config.max_concurrency)
        return slot

    def count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def count_wait(self, seconds: float, *, rate_limit: bool) -> None:
        with self._lock:
            self.waits += 1
            self.wait_seconds += seconds
            self.rate_limit_waits += rate_limit

    def stats(self) -> PipelineStats:
        return PipelineStats(
            requests=self.requests,
            retries=self.retries,
            waits=self.waits,
            wait_seconds=round(self.wait_seconds, 6),
            rate_limit_waits=self.rate_limit_waits,
            auth_refreshes=self.auth_refreshes,
            cache=replace(self.cache.stats),
            breakers={
                origin: BreakerStats(b.state, b.failures, b.trips) for origin, b in self.breakers.all().items()
            },
        )
