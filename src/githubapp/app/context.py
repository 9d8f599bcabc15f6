"""The delivery being handled, per task and per thread (``contextvars``), never per app instance.

Every webhook delivery runs in its own context: two concurrent deliveries never see each other's
payload, and the context follows the handler into worker threads (sync handlers) and background
tasks::

    delivery = current_delivery()          # None outside a delivery
    with delivery_context(Delivery("issues", payload, "72d3162e-...")):
        ...                                 # handlers called here see this delivery
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["Delivery", "current_delivery", "delivery_context", "set_delivery"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook delivery: the ``X-GitHub-Event`` name, the decoded JSON body and the delivery id."""

    event: str
    payload: dict[str, Any]
    delivery_id: str | None = None
    #: Parsed typed events, by model, filled on first use (shared by the handlers of this delivery).
    parsed: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def action(self) -> str | None:
        action = self.payload.get("action")
        return action if isinstance(action, str) else None

    @property
    def installation_id(self) -> int | None:
        """The installation the delivery is for; ``None`` for app-level events (``ping``, ...)."""
        installation = self.payload.get("installation")
        if isinstance(installation, dict):
            value = installation.get("id")
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None

    def with_payload(self, payload: dict[str, Any]) -> Delivery:
        return replace(self, payload=payload, parsed={})

    def __repr__(self) -> str:  # the payload may be large: show what identifies the delivery
        return f"Delivery(event={self.event!r}, action={self.action!r}, delivery_id={self.delivery_id!r})"


_current: ContextVar[Delivery | None] = ContextVar("githubapp_delivery", default=None)


def current_delivery() -> Delivery | None:
    """The delivery handled in this context, or ``None``."""
    return _current.get()


def set_delivery(delivery: Delivery | None) -> None:
    """Set the delivery of the current context (what ``github_app.payload = ...`` does)."""
    _current.set(delivery)


@contextmanager
def delivery_context(delivery: Delivery) -> Iterator[Delivery]:
    """Run a block with ``delivery`` as the current delivery; the previous one is restored after."""
    token = _current.set(delivery)
    try:
        yield delivery
    finally:
        _current.reset(token)
