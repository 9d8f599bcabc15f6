"""Decoding payloads into typed values without ever breaking a 2xx call on spec drift.

Fast path: ``TypeAdapter.validate_json`` on the raw bytes (adapters are built once per type).
When GitHub's payload does not match its description (a required field missing, a null where the
spec says non-null, an enum value it does not list), the lenient path keeps every value that
matches typed and every value that does not as sent, and reports the drift once per place.
``strict=True`` raises :class:`~githubapp.errors.ResponseValidationError` instead.
"""

from __future__ import annotations

import json
import logging
import types
import warnings
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from .errors import ResponseValidationError, SpecDriftWarning

__all__ = ["adapter_for", "decode_json", "decode_value", "tolerant"]

logger = logging.getLogger("githubapp")

_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}
_REPORTED: set[tuple[str, tuple[str, ...]]] = set()


def adapter_for(tp: Any) -> TypeAdapter[Any]:
    """One cached :class:`TypeAdapter` per type."""
    try:
        return _ADAPTERS[tp]
    except KeyError:
        adapter = _ADAPTERS[tp] = TypeAdapter(tp)
        return adapter
    except TypeError:  # unhashable type expression
        return TypeAdapter(tp)


def decode_json(tp: Any, content: bytes, context: str, *, strict: bool = False) -> Any:
    """Decode JSON ``content`` into ``tp`` (see module docstring)."""
    adapter = adapter_for(tp)
    try:
        # what adapter.validate_json(content) calls, without its wrapper (no options are given)
        return adapter.validator.validate_json(content)
    except ValidationError as exc:
        if strict:
            raise ResponseValidationError(context, _summary(exc)) from exc
        try:
            raw = json.loads(content)
        except ValueError:
            _report(context, ("<body>",), "body is not JSON; returned as bytes")
            return content
        _report(context, _places(exc), _summary(exc))
        return tolerant(tp, raw)


def decode_value(tp: Any, value: Any, context: str, *, strict: bool = False) -> Any:
    """Like :func:`decode_json` for already-parsed data (webhook payloads, GraphQL results)."""
    adapter = adapter_for(tp)
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        if strict:
            raise ResponseValidationError(context, _summary(exc)) from exc
        _report(context, _places(exc), _summary(exc))
        return tolerant(tp, value)


def tolerant(tp: Any, value: Any) -> Any:
    """Validate what matches ``tp``; keep what does not as sent (recursively)."""
    if tp is Any or (tp is None and value is None):
        return value
    try:
        return adapter_for(tp).validate_python(value)
    except (ValidationError, TypeError, NameError, AttributeError):
        pass
    origin = get_origin(tp)
    if origin is Annotated:
        return tolerant(get_args(tp)[0], value)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(tp) if a is not type(None)]
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        if isinstance(value, dict) and models:
            return tolerant(_closest_model(models, value), value)
        if isinstance(value, list):
            lists = [m for m in members if get_origin(m) is list]
            if lists:
                return tolerant(lists[0], value)
        return value
    if origin is list and isinstance(value, list):
        (item,) = get_args(tp) or (Any,)
        return [tolerant(item, v) for v in value]
    if origin is dict and isinstance(value, dict):
        args = get_args(tp)
        return {k: tolerant(args[1], v) for k, v in value.items()} if len(args) == 2 else value
    if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(value, dict):
        return _construct(tp, value)
    return value


def _construct(model: type[BaseModel], value: dict[str, Any]) -> BaseModel:
    if not model.__pydantic_complete__:
        model.model_rebuild(raise_errors=False)
    data = dict(value)
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in data and name in data:
            key = name
        if key in data:
            data[key] = tolerant(info.annotation, data[key])
        elif info.is_required():
            data[key] = None  # missing although required: read as None rather than AttributeError
    return model.model_construct(**data)


def _closest_model(models: list[type[BaseModel]], value: dict[str, Any]) -> type[BaseModel]:
    """The union member whose fields best cover the keys of ``value``."""

    def score(m: type[BaseModel]) -> tuple[int, int]:
        keys = {info.alias or name for name, info in m.model_fields.items()}
        required = {info.alias or name for name, info in m.model_fields.items() if info.is_required()}
        return (len(keys & value.keys()) - len(required - value.keys()), -len(keys))

    return max(models, key=score)


def _places(exc: ValidationError) -> tuple[str, ...]:
    """Error locations with list indexes folded (``labels.*.name``), deduplicated."""
    places = []
    for err in exc.errors(include_url=False, include_input=False):
        place = ".".join("*" if isinstance(p, int) else str(p) for p in err["loc"]) or "<root>"
        if place not in places:
            places.append(place)
    return tuple(sorted(places)[:20])


def _summary(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    shown = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in errors[:5]
    )
    more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
    return shown + more


def _report(context: str, places: tuple[str, ...], detail: str) -> None:
    key = (context, places)
    if key in _REPORTED:
        return
    _REPORTED.add(key)
    message = f"{context}: response differs from GitHub's description; kept as sent: {detail}"
    logger.warning(message)
    warnings.warn(message, SpecDriftWarning, stacklevel=4)
