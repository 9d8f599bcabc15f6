"""Webhook descriptions -> the ``"event.action"`` -> model map."""

from __future__ import annotations

from .models import ModelLayout
from .spec import PinnedSpec

COMPONENT_PREFIX = "#/components/schemas/"


def events(hooks: PinnedSpec, layout: ModelLayout) -> list[tuple[str, str, str]]:
    """``[("issues.opened", "WebhookIssuesOpened", module), ...]`` sorted by event key."""
    out = []
    for item in hooks.document["webhooks"].values():
        op = item["post"]
        event, _, action = op["operationId"].partition("/")
        key = event.replace("-", "_") + ("." + action.replace("-", "_") if action else "")
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        cls = layout.by_component[ref[len(COMPONENT_PREFIX):]]
        out.append((key, cls, layout.index[cls]))
    keys = [k for k, _, _ in out]
    if len(set(keys)) != len(keys):
        raise SystemExit("duplicate webhook event keys")
    return sorted(out)
