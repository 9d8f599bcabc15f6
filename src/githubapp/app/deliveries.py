"""Recently seen ``X-GitHub-Delivery`` ids, so a redelivered webhook is not processed twice.

Bounded memory: the oldest ids are forgotten first. An id is claimed when a verified delivery
starts and released again if handling it failed, so GitHub's redelivery of a failed delivery is
processed::

    log = DeliveryLog(maxsize=10_000)
    log.claim("72d3162e-...")       # True: first time, process it
    log.claim("72d3162e-...")       # False: seen (or in progress), acknowledge only
    log.release("72d3162e-...")     # handling failed: a redelivery will be processed
"""

from __future__ import annotations

import threading
from collections import OrderedDict

__all__ = ["DeliveryLog"]


class DeliveryLog:
    """A bounded, thread-safe set of delivery ids in arrival order."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self.maxsize = maxsize
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, delivery_id: object) -> bool:
        return delivery_id in self._seen

    def claim(self, delivery_id: str) -> bool:
        """Record ``delivery_id``; ``False`` if it was already recorded (a redelivery)."""
        if self.maxsize <= 0:
            return True
        with self._lock:
            if delivery_id in self._seen:
                return False
            self._seen[delivery_id] = None
            while len(self._seen) > self.maxsize:
                self._seen.popitem(last=False)
            return True

    def release(self, delivery_id: str) -> None:
        """Forget ``delivery_id`` (its handling failed; a redelivery must run again)."""
        with self._lock:
            self._seen.pop(delivery_id, None)
