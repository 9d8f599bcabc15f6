"""Which handlers a delivery runs, and how each one is called.

Handlers are registered under ``"event"`` or ``"event.action"``; a delivery runs the bare-event
handlers first, then the action handlers, each list in registration order::

    registry = HandlerRegistry()
    registry.add("issues", on_any_issue)
    registry.add("issues.opened", on_opened, background=True, timeout=60, retries=2)
    [h.func for h in registry.match("issues", "opened")]     # [on_any_issue, on_opened]

A handler takes no argument (it reads ``github_app.payload``), or one argument: annotated with a
generated webhook model (``event: IssuesOpened``) it receives the typed event, otherwise the raw
payload ``dict``.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Union

from ._invoke import call
from .context import Delivery

__all__ = ["Handler", "HandlerRegistry", "invoke"]

_KEY = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)?$")


@dataclass(slots=True)
class Handler:
    """One registered handler and its options."""

    func: Callable[..., Any]
    key: str
    background: bool = False
    timeout: float | None = None
    retries: int | None = None
    #: How the handler is called: no argument, the raw payload, or a typed event.
    takes: str = "nothing"  # "nothing" | "payload" | "event"
    _annotation: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """The key of the handler's result in the webhook response (0.2.7: ``__name__``)."""
        return str(getattr(self.func, "__name__", type(self.func).__name__))

    def model(self) -> Any:
        """The annotated model (resolved on first use, so forward references work)."""
        if self.takes == "event" and isinstance(self._annotation, str):
            self._annotation = _resolve(self.func, self._annotation)
        return self._annotation


class HandlerRegistry:
    """Handlers by ``"event"`` / ``"event.action"`` key (see the module docstring)."""

    def __init__(self) -> None:
        #: key -> handler functions, exactly as 0.2.7's ``GitHubApp._hook_mappings``.
        self.mappings: dict[str, list[Callable[..., Any]]] = {}
        self._handlers: dict[str, list[Handler]] = {}

    def add(
        self,
        key: str,
        func: Callable[..., Any],
        *,
        background: bool = False,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> Handler:
        if not isinstance(key, str) or not _KEY.match(key):
            raise ValueError(f"event key must look like 'issues' or 'issues.opened', got {key!r}")
        if not callable(func):
            raise TypeError(f"handler for {key!r} must be callable, got {func!r}")
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
        if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int) or retries < 0):
            raise ValueError(f"retries must be an int >= 0, got {retries!r}")
        if not background and (timeout is not None or retries is not None):
            raise ValueError(f"timeout= and retries= apply to background handlers; add background=True for {key!r}")
        takes, annotation = _calling_convention(func)
        handler = Handler(func, key, background, timeout, retries, takes, annotation)
        self.mappings.setdefault(key, []).append(func)
        self._handlers.setdefault(key, []).append(handler)
        return handler

    def match(self, event: str, action: str | None) -> list[Handler]:
        """Handlers for a delivery: bare-event ones first, then ``event.action`` ones."""
        found = [self._handler(event, f) for f in self.mappings.get(event, ())]
        if action:
            key = f"{event}.{action}"
            found += [self._handler(key, f) for f in self.mappings.get(key, ())]
        return found

    def _handler(self, key: str, func: Callable[..., Any]) -> Handler:
        # ``mappings`` may have been edited directly (0.2.7 code did); unknown functions get defaults.
        for handler in self._handlers.get(key, ()):
            if handler.func is func:
                return handler
        takes, annotation = _calling_convention(func)
        return Handler(func, key, takes=takes, _annotation=annotation)


def _calling_convention(func: Callable[..., Any]) -> tuple[str, Any]:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return "nothing", None
    required = [
        p
        for p in signature.parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    kw_required = [p for p in signature.parameters.values() if p.default is p.empty and p.kind is p.KEYWORD_ONLY]
    if kw_required or len(required) > 1:
        names = ", ".join(p.name for p in required + kw_required)
        raise TypeError(
            f"handler {getattr(func, '__qualname__', func)!r} must take no argument or one (the event), "
            f"it requires: {names}"
        )
    if not required:
        return "nothing", None
    annotation = required[0].annotation
    if annotation is inspect.Parameter.empty:
        return "payload", None
    if isinstance(annotation, str):
        try:
            annotation = _resolve(func, annotation)
        except NameError:  # defined later (or under TYPE_CHECKING): resolve at the first delivery
            return "event", annotation
    return ("event", annotation) if _is_model(annotation) else ("payload", None)


def _resolve(func: Callable[..., Any], annotation: str) -> Any:
    """Evaluate a string annotation the way :func:`typing.get_type_hints` does (NameError if unknown)."""
    target = inspect.unwrap(func)

    def probe(event: Any) -> None: ...

    probe.__annotations__ = {"event": annotation}
    probe.__module__ = getattr(target, "__module__", __name__)
    try:
        return typing.get_type_hints(probe, globalns=getattr(target, "__globals__", None))["event"]
    except NameError:
        raise
    except Exception as exc:
        raise NameError(f"cannot resolve the handler annotation {annotation!r}: {exc}") from exc


def _is_model(annotation: Any) -> bool:
    from pydantic import BaseModel

    if isinstance(annotation, type):
        return issubclass(annotation, BaseModel)
    if _is_union(annotation):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return bool(args) and all(isinstance(a, type) and issubclass(a, BaseModel) for a in args)
    return False


def typed_event(delivery: Delivery, model: Any) -> Any:
    """The delivery as ``model`` (parsed once per delivery and model).

    ``BaseModel`` means "the model of this event and action"; for a union of models, the member
    that is this event's model is used. Payloads that drift from the spec are kept (lenient).
    """
    cached = delivery.parsed.get(model)
    if cached is not None:
        return cached
    from pydantic import BaseModel

    from .._decode import decode_value
    from ..webhooks import event_key, event_model

    try:
        own: Any = event_model(event_key(delivery.event, delivery.payload))
    except KeyError:
        own = None
    members = [a for a in typing.get_args(model) if a is not type(None)] if _is_union(model) else [model]
    target = own if own is not None and (model is BaseModel or own in members) else model
    if target is BaseModel:
        raise TypeError(f"no webhook model is known for event {delivery.event!r} (action {delivery.action!r})")
    value = decode_value(target, delivery.payload, f"webhook {delivery.event}")
    delivery.parsed[model] = value
    return value


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (Union, types.UnionType)


async def invoke(handler: Handler, delivery: Delivery) -> Any:
    """Call ``handler`` for ``delivery`` (sync handlers in a worker thread, same context)."""
    if handler.takes == "nothing":
        return await call(handler.func)
    if handler.takes == "payload":
        return await call(handler.func, (delivery.payload,))
    return await call(handler.func, (typed_event(delivery, handler.model()),))
