"""Webhook payload models and the ``"event.action"`` -> model map.

    from githubapp.webhooks import parse_event, event_model

    event = parse_event("issues", body)            # -> WebhookIssuesOpened (typed), by payload action
    event_model("issues.opened")                   # -> the model class
    from githubapp.webhooks import IssuesOpened    # short alias of WebhookIssuesOpened

Models load one by one on first use. Payloads that drift from GitHub's description are kept as
sent and reported once (see :mod:`githubapp._decode`), never rejected.
"""

from __future__ import annotations

import importlib
import json
from typing import TYPE_CHECKING, Any

from ._events import EVENTS

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["EVENTS", "event_model", "parse_event", "event_key"]


def event_key(event: str, payload: Any = None) -> str:
    """``("issues", {"action": "opened"})`` -> ``"issues.opened"`` when that pair is known."""
    action = payload.get("action") if isinstance(payload, dict) else None
    if action and f"{event}.{action}" in EVENTS:
        return f"{event}.{action}"
    return event


def event_model(key: str) -> type[BaseModel]:
    """The model class of ``"event.action"`` (or ``"event"`` for events without actions)."""
    try:
        cls, module = EVENTS[key]
    except KeyError:
        raise KeyError(f"unknown webhook event {key!r}; known events look like 'issues.opened' or 'push'") from None
    model: type[BaseModel] = getattr(importlib.import_module(f"{__name__}.models.{module}"), cls)
    return model


def parse_event(event: str, payload: bytes | str | dict[str, Any], *, strict: bool = False) -> Any:
    """Decode a delivery (``X-GitHub-Event`` + body) into its typed model.

    Unknown events raise :class:`KeyError`; a payload that drifts from the spec is kept as sent.
    """
    from .._decode import decode_value

    data = payload if isinstance(payload, dict) else json.loads(payload)
    key = event_key(event, data)
    return decode_value(event_model(key), data, f"webhook {key}", strict=strict)


def __getattr__(name: str) -> Any:
    """``IssuesOpened`` -> ``WebhookIssuesOpened`` (the generated name is also importable)."""
    from . import models

    full = name if name.startswith("Webhook") else "Webhook" + name
    if full not in models.INDEX:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(models, full)
    globals()[name] = value
    return value
