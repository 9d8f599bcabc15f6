"""Circuit breaker per base URL: closed -> open after N consecutive failures -> half-open after a
cool-down (one probe) -> closed on success. Failures are 5xx, network errors and timeouts; a 4xx
never counts. Pure state machine: the caller passes the clock.

    breaker = CircuitBreaker(threshold=5, cooldown=30.0)
    breaker.before(now)          # raises CircuitOpenError while open
    breaker.record(ok=False, now=now)
"""

from __future__ import annotations

import threading
from typing import Literal

from ..errors import CircuitOpenError

__all__ = ["BreakerState", "CircuitBreaker", "BreakerRegistry"]

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(self, *, threshold: int, cooldown: float, name: str = "") -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.name = name
        self.state: BreakerState = "closed"
        self.failures = 0
        self.trips = 0
        self.opened_at = 0.0
        self._probing = False
        self._lock = threading.Lock()

    def before(self, now: float) -> bool:
        """Let a request through (``True`` when it is the one probe after the cool-down), or raise
        :class:`CircuitOpenError`."""
        with self._lock:
            if self.state == "closed":
                return False
            retry_in = self.opened_at + self.cooldown - now
            if self.state == "open" and retry_in <= 0:
                self.state = "half_open"
            if self.state == "half_open" and not self._probing:
                self._probing = True
                return True
            raise CircuitOpenError(self.name, max(0.0, retry_in), self.failures)

    def record(self, *, ok: bool, now: float) -> None:
        """The outcome of a request that went through: success closes, failure counts (and may open)."""
        with self._lock:
            self._probing = False
            if ok:
                self.state, self.failures = "closed", 0
                return
            self.failures += 1
            if self.state == "half_open" or self.failures >= self.threshold:
                if self.state != "open":
                    self.trips += 1
                self.state, self.opened_at = "open", now

    def abandon(self) -> None:
        """The probe ended without an answer either way (cancelled, no token): let the next one try."""
        with self._lock:
            self._probing = False


class BreakerRegistry:
    """One breaker per base URL (``scheme://host``), created on first use."""

    def __init__(self, *, threshold: int, cooldown: float) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._breakers: dict[str, CircuitBreaker] = {}

    def for_origin(self, origin: str) -> CircuitBreaker:
        breaker = self._breakers.get(origin)
        if breaker is None:
            breaker = self._breakers.setdefault(
                origin, CircuitBreaker(threshold=self.threshold, cooldown=self.cooldown, name=origin)
            )
        return breaker

    def all(self) -> dict[str, CircuitBreaker]:
        return dict(self._breakers)
