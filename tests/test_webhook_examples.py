"""Every webhook example of the pinned webhooks spec decodes into its event model; the event map is complete.

Event and action come from the webhook's operationId (``issues/opened`` -> ``X-GitHub-Event: issues``,
``action: opened``; ``-`` becomes ``_``), read from ``spec/openapi-webhooks`` by ``spec_helpers``.
"""

from __future__ import annotations

import importlib.util
import json
import re
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from spec_helpers import WebhookOperation, find_key, webhook_examples, webhook_operations

from githubapp.errors import ResponseValidationError, SpecDriftWarning
from githubapp.webhooks import EVENTS, event_key, event_model, parse_event


def schema_actions(hook: WebhookOperation) -> list[str] | None:
    """The ``action`` values the webhook's payload schema allows (None: any string, or no action)."""
    action = hook.body_schema().get("properties", {}).get("action")
    if not isinstance(action, dict):
        return None
    if "const" in action:
        return [action["const"]]
    values: list[str] | None = action.get("enum")
    return values


def test_every_webhook_is_in_events() -> None:
    """Exactly the spec's webhooks are in ``EVENTS`` (one key each); every model is defined where EVENTS says.

    Importing all 261 models costs ~5 s here, so every module is checked without importing it and
    one model per event is imported.
    """
    keys = [hook.key for hook in webhook_operations()]
    assert len(keys) == len(set(keys)), "two webhooks map to the same event key"
    assert set(EVENTS) == set(keys), f"missing {sorted(set(keys) - set(EVENTS))}, extra {sorted(set(EVENTS) - set(keys))}"
    print(f"\nwebhooks: {len(keys)} in the spec, {len(EVENTS)} in EVENTS")
    for key, (cls_name, module) in EVENTS.items():
        spec = importlib.util.find_spec(f"githubapp.webhooks.models.{module}")
        assert spec is not None and spec.origin is not None, f"{key}: no module {module}"
        assert re.search(rf"^class {cls_name}\(", Path(spec.origin).read_text(), re.M), f"{key}: {cls_name} not in {module}"
    started = time.perf_counter()
    first_of_event = {key.split(".")[0]: key for key in reversed(list(EVENTS))}
    for key in first_of_event.values():
        model = event_model(key)
        assert isinstance(model, type) and issubclass(model, BaseModel) and model.__name__ == EVENTS[key][0], key
    print(f"webhook models: {len(first_of_event)} (one per event) imported in {time.perf_counter() - started:.2f} s")


def test_event_key_follows_the_payload_action() -> None:
    """``event_key(event, payload)`` finds every webhook from the action its schema declares."""
    checked = 0
    for hook in webhook_operations():
        actions = schema_actions(hook)
        if hook.action is None:
            assert event_key(hook.event, {}) == hook.key
            assert event_key(hook.event, None) == hook.key
            continue
        if actions is not None:  # the spec agrees with itself: operationId action == payload action
            assert actions == [hook.action], f"{hook.operation_id}: schema actions {actions}"
        assert event_key(hook.event, {"action": hook.action}) == hook.key
        checked += 1
    assert checked > 200
    assert event_key("issues", {"action": "no_such_action"}) == "issues.no_such_action"  # named in the KeyError
    assert event_key("issues", ["not", "a", "dict"]) == "issues"


def test_unknown_keys_fail_clearly() -> None:
    with pytest.raises(KeyError, match=r"issues\.no_such_action"):
        event_model("issues.no_such_action")
    with pytest.raises(KeyError, match="no_such_event"):
        event_model("no_such_event")
    with pytest.raises(KeyError, match="no_such_event"):
        parse_event("no_such_event", {"action": "opened"})


EXAMPLES = [pytest.param(hook, ex.value, id=f"{hook.key}:{ex.name}") for hook, ex in webhook_examples()]


def test_examples_were_found() -> None:
    assert EXAMPLES, "no webhook examples found: is the spec reader broken?"
    for param in EXAMPLES:
        _, payload = param.values
        assert isinstance(payload, dict), param.id
        assert find_key(payload, "x-github-breaking-changes") is None, param.id
        assert find_key(payload, "$ref") is None, param.id


@pytest.mark.parametrize(("hook", "payload"), EXAMPLES)
def test_example_decodes_into_its_model(hook: WebhookOperation, payload: dict[str, Any]) -> None:
    """Lenient decoding never raises and yields the event's model, from a dict, str or bytes body."""
    model = event_model(hook.key)
    assert event_key(hook.event, payload) == hook.key
    body = json.dumps(payload)
    for delivery in (payload, body, body.encode()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SpecDriftWarning)
            event = parse_event(hook.event, delivery)
        assert type(event) is model, f"{hook.key}: {type(event).__name__} is not {model.__name__}"
    if hook.action is not None:
        assert event.action == hook.action


def test_strict_count() -> None:
    """Count how many webhook examples also validate strictly."""
    strict, drift = 0, []
    for param in EXAMPLES:
        hook, payload = param.values
        try:
            parse_event(hook.event, payload, strict=True)
            strict += 1
        except ResponseValidationError as exc:
            drift.append(f"{param.id}: {exc}")
    print(f"\nwebhook examples: {len(EXAMPLES)} decoded, {strict} strict, {len(drift)} drift")
    for line in drift:
        print("  ", line)
    assert strict == len(EXAMPLES), "webhook examples drift from their models:\n" + "\n".join(drift)


def test_repository_dispatch_with_any_event_type() -> None:
    (hook,) = [h for h in webhook_operations() if h.event == "repository_dispatch"]
    assert schema_actions(hook) is None  # the spec allows any string
    payload = {"action": "deploy", "branch": "main", "client_payload": {"env": "prod"}, "repository": {}, "sender": {}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecDriftWarning)
        event = parse_event("repository_dispatch", payload)
    assert isinstance(event, event_model(hook.key))
    assert event.action == "deploy"
