"""Decoding webhook deliveries into their typed payload models."""

from __future__ import annotations

import importlib
import json
from typing import TYPE_CHECKING, Any

from ._events import EVENTS

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["event_key", "event_model", "parse_event"]


def event_key(event: str, payload: Any = None) -> str:
    """The :data:`EVENTS` key of a delivery: ``("issues", {"action": "opened"})`` -> ``"issues.opened"``.

    An event with one model for all its actions (``repository_dispatch``, whose action is the
    caller's ``event_type``) maps to that model whatever the action. Unknown pairs come back as
    ``"event.action"`` so :func:`event_model` can name them.
    """
    action = payload.get("action") if isinstance(payload, dict) else None
    if action and f"{event}.{action}" in EVENTS:
        return f"{event}.{action}"
    if event in EVENTS:
        return event
    variants = [key for key in EVENTS if key.startswith(event + ".")]
    if len(variants) == 1:
        return variants[0]
    return f"{event}.{action}" if action else event


def event_model(key: str) -> type[BaseModel]:
    """The model class of ``"event.action"`` (or ``"event"`` for events without actions)."""
    try:
        cls, module = EVENTS[key]
    except KeyError:
        raise KeyError(f"unknown webhook event {key!r}; known events look like 'issues.opened' or 'push'") from None
    model: type[BaseModel] = getattr(importlib.import_module(f"githubapp.webhooks.models.{module}"), cls)
    return model


def parse_event(event: str, payload: bytes | str | dict[str, Any], *, strict: bool = False) -> BaseModel:
    """Decode a delivery (``X-GitHub-Event`` + body) into its typed model.

    Unknown events raise :class:`KeyError`; a payload that drifts from the spec is kept as sent
    and reported once (``strict=True`` raises instead). Narrow the result with ``isinstance``.
    """
    from .._decode import decode_json, decode_value

    if isinstance(payload, dict):
        key = event_key(event, payload)
        model: BaseModel = decode_value(event_model(key), payload, f"webhook {key}", strict=strict)
        return model
    raw = payload.encode() if isinstance(payload, str) else payload
    key = event_key(event, json.loads(raw))
    model = decode_json(event_model(key), raw, f"webhook {key}", strict=strict)
    return model
