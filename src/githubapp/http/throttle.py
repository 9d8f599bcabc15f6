"""Write spacing per identity: GitHub asks for at least a second between writes of one user.

    spacer = WriteSpacer(spacing=1.0)
    wait = spacer.reserve(identity, now)    # seconds this write must wait for its slot

Concurrency bounds are the drivers' semaphores (asyncio / threading), sized by ``max_concurrency``.
"""

from __future__ import annotations

import threading

__all__ = ["WriteSpacer"]


class WriteSpacer:
    def __init__(self, spacing: float) -> None:
        self.spacing = spacing
        self._next_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def reserve(self, identity: str, now: float) -> float:
        """Book the next write slot of ``identity``; returns how long to wait for it (0 = go now)."""
        if self.spacing <= 0:
            return 0.0
        with self._lock:
            slot = max(now, self._next_at.get(identity, 0.0))
            self._next_at[identity] = slot + self.spacing
        return slot - now
