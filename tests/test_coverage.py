"""Every REST operation of the pinned spec has exactly one async and one sync method, shaped as the spec says.

Expectations come from ``spec/openapi/api.github.com.json`` parsed here (see ``spec_helpers``), not
from ``codegen``: namespace from the operationId prefix, method from its suffix, path parameters
first (positional-or-keyword, in placeholder order), everything else keyword-only, required
parameters without a default, optional ones defaulting to ``UNSET`` ("not sent").
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
import time
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from pydantic import BaseModel
from spec_helpers import RestOperation, is_json_media, load_spec, py_name, resolve, rest_operations

from githubapp._operation import UNSET, AsyncNamespace, Operation, SyncNamespace
from githubapp.rest import NAMESPACES

# -- expectations, derived from the spec alone ----------------------------------------------------


@dataclass
class Expected:
    """What the spec says one generated method must look like."""

    op: RestOperation
    namespace: str
    name: str
    path: list[tuple[str, str, str]]  # (python name, wire name, "int" | "str")
    query: dict[str, tuple[str, bool]] = field(default_factory=dict)  # python name -> (wire, required)
    body_mode: Literal["fields", "data"] | None = None
    body: dict[str, tuple[str, bool]] = field(default_factory=dict)  # python name -> (wire, required)


def object_fields(schema: Any) -> dict[str, bool] | None:
    """``{field: required}`` of an object schema (allOf merged, oneOf/anyOf united); None if not an object.

    A field is required when the schema itself requires it, or every oneOf/anyOf variant does.
    """
    doc = load_spec("rest")
    schema = resolve(doc, schema)
    if not isinstance(schema, dict) or schema.get("type") not in (None, "object"):
        return None
    required = set(schema.get("required", []))
    fields = {name: name in required for name in schema.get("properties") or {}}
    for part in schema.get("allOf", []):
        sub = object_fields(part)
        if sub is None:
            return None
        for name, req in sub.items():
            fields[name] = fields.get(name, False) or req
    variants = schema.get("oneOf") or schema.get("anyOf")
    if variants:
        subs = [object_fields(v) for v in variants]
        if any(sub is None for sub in subs):
            return None  # e.g. "an object or a bare array": only ``data=`` can express it
        common = set.intersection(*({n for n, r in sub.items() if r} for sub in subs if sub is not None))
        for sub in subs:
            for name in sub or {}:
                fields.setdefault(name, False)
        for name in common:
            fields[name] = True
    return fields


def expected_for(op: RestOperation) -> Expected:
    doc = load_spec("rest")
    path = []
    for wire in op.placeholders:
        (param,) = [p for p in op.params_in("path") if p["name"] == wire]
        schema = resolve(doc, param.get("schema", {}))
        types = {resolve(doc, x).get("type") for x in schema.get("oneOf") or schema.get("anyOf") or [schema]}
        kind = "int" if types == {"integer"} else "int|str" if "integer" in types else "str"
        path.append((py_name(wire), wire, kind))
    exp = Expected(op, op.namespace, op.method_name, path)
    taken = {name for name, _, _ in path}
    for param in op.params_in("query"):
        name = py_name(param["name"])
        name = f"query_{name}" if name in taken else name
        taken.add(name)
        exp.query[name] = (param["name"], bool(param.get("required")))
    body = op.operation.get("requestBody")
    if body:
        body = resolve(doc, body)
        content = body["content"]
        media = next((m for m in content if is_json_media(m)), next(iter(content)))
        fields = object_fields(content[media].get("schema", {})) if is_json_media(media) else None
        if fields:
            exp.body_mode = "fields"
            for wire, req in fields.items():
                name = py_name(wire)
                name = f"body_{name}" if name in taken or name == "data" else name
                taken.add(name)
                exp.body[name] = (wire, req)
        else:
            exp.body_mode = "data"
            exp.body["data"] = ("", bool(body.get("required")))
    return exp


@functools.cache
def expectations() -> tuple[Expected, ...]:
    return tuple(expected_for(op) for op in rest_operations())


def namespace_classes(namespace: str) -> tuple[type[AsyncNamespace], type[SyncNamespace]]:
    module, async_name, sync_name = NAMESPACES[namespace]
    mod = importlib.import_module(f"githubapp.rest.{module}")
    return getattr(mod, async_name), getattr(mod, sync_name)


def public_methods(cls: type) -> set[str]:
    return {name for name, value in vars(cls).items() if not name.startswith("_") and inspect.isfunction(value)}


OPS = [pytest.param(exp, id=exp.op.operation_id) for exp in expectations()]
WITH_BODY = [pytest.param(exp, id=exp.op.operation_id) for exp in expectations() if exp.body_mode]



# -- tests ----------------------------------------------------------------------------------------


def test_coverage_is_complete() -> None:
    """Exactly one async and one sync method per operation; no method that the spec lacks."""
    exps = expectations()
    wanted: dict[str, set[str]] = {}
    for exp in exps:
        wanted.setdefault(exp.namespace, set()).add(exp.name)
    clashes = len(exps) - sum(len(names) for names in wanted.values())
    assert clashes == 0, f"{clashes} operations map to a (namespace, method) another operation already uses"
    assert set(NAMESPACES) == set(wanted), f"namespaces: extra {set(NAMESPACES) - set(wanted)}, missing {set(wanted) - set(NAMESPACES)}"
    covered = 0
    problems = []
    for namespace, names in sorted(wanted.items()):
        async_cls, sync_cls = namespace_classes(namespace)
        assert issubclass(async_cls, AsyncNamespace) and issubclass(sync_cls, SyncNamespace)
        for cls in (async_cls, sync_cls):
            extra = public_methods(cls) - names
            if extra:
                problems.append(f"{cls.__name__}: methods not in the spec: {sorted(extra)}")
            if set(cls._operations) != names:
                problems.append(f"{cls.__name__}._operations differs from the spec: {sorted(set(cls._operations) ^ names)}")
        for name in names:
            a, s = vars(async_cls).get(name), vars(sync_cls).get(name)
            if inspect.iscoroutinefunction(a) and inspect.isfunction(s) and not inspect.iscoroutinefunction(s):
                covered += 1
            else:
                problems.append(f"{namespace}.{name}: async {a!r}, sync {s!r}")
    total = len(rest_operations())
    print(f"\ncoverage: {covered} of {total} operations ({100 * covered / total:.1f}%), {len(wanted)} namespaces")
    assert not problems, "\n".join(problems[:50])
    assert covered == total


@pytest.mark.parametrize("exp", OPS)
def test_method_signature(exp: Expected) -> None:
    """Path parameters first in placeholder order; query parameters keyword-only; the Operation matches."""
    async_cls, sync_cls = namespace_classes(exp.namespace)
    sig = inspect.signature(getattr(async_cls, exp.name))
    assert inspect.signature(getattr(sync_cls, exp.name)) == sig, "async and sync signatures differ"
    params = list(sig.parameters.values())
    assert params[0].name == "self"
    params = params[1:]
    n = len(exp.path)
    assert [p.name for p in params[:n]] == [name for name, _, _ in exp.path]
    for p in params[:n]:
        assert p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and p.default is inspect.Parameter.empty, p
    rest = {p.name: p for p in params[n:]}
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in rest.values()), [str(p) for p in params[n:]]
    missing = set(exp.query) - set(rest)
    assert not missing, f"query parameters missing: {sorted(missing)}"
    if not exp.body_mode:  # with a body, test_body_parameters checks the rest
        assert set(rest) == set(exp.query), f"not in the spec: {sorted(set(rest) - set(exp.query))}"
    for name, (wire, required) in exp.query.items():
        default = rest[name].default
        assert default is inspect.Parameter.empty if required else default is UNSET, f"query {wire!r}: default {default!r}"

    op = async_cls._operations[exp.name]
    assert isinstance(op, Operation) and sync_cls._operations[exp.name] is op
    assert (op.operation_id, op.method, op.template) == (exp.op.operation_id, exp.op.method, exp.op.path)
    assert [(name, wire, kind) for name, wire, kind in op.path] == exp.path
    assert [(name, wire) for name, wire, _ in op.query] == [(name, wire) for name, (wire, _) in exp.query.items()]
    for _, wire, style in op.query:
        (param,) = [p for p in exp.op.params_in("query") if p["name"] == wire]
        assert style == ("csv" if param.get("explode") is False else "form"), f"query {wire!r}: style {style!r}"


@pytest.mark.parametrize("exp", WITH_BODY)
def test_body_parameters(exp: Expected) -> None:
    """Object bodies as keyword-only fields (required ones without default); other bodies as ``data=``."""
    async_cls, _ = namespace_classes(exp.namespace)
    params = inspect.signature(getattr(async_cls, exp.name)).parameters
    op = async_cls._operations[exp.name]
    assert op.body_mode == exp.body_mode
    missing = [name for name in exp.body if name not in params]
    assert not missing, f"body parameters missing: {missing}; has {list(params)[1:]}"
    for name, (wire, required) in exp.body.items():
        p = params[name]
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, p
        assert p.default is inspect.Parameter.empty if required else p.default is UNSET, f"body {wire or name!r}: {p}"
    query = {name for name, _, _ in op.query}
    extra = set(params) - {"self"} - {name for name, _, _ in op.path} - query - set(exp.body)
    assert not extra, f"not in the spec: {sorted(extra)}"
    if exp.body_mode == "fields":
        assert sorted(op.body) == sorted((name, wire) for name, (wire, _) in exp.body.items())


def _flatten(tp: Any) -> set[Any]:
    """Members of a union (``None`` as ``NoneType``); a non-union is its own single member."""
    if tp is None:
        return {type(None)}
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return set().union(*(_flatten(a) for a in typing.get_args(tp)))
    return {tp}


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def test_return_types_resolve() -> None:
    """Every declared 2xx status has a return type that evaluates, agrees with the spec and the annotation."""
    doc = load_spec("rest")
    started = time.perf_counter()
    problems: list[str] = []
    evaluated = 0
    for exp in expectations():
        async_cls, _ = namespace_classes(exp.namespace)
        op = async_cls._operations[exp.name]
        codes = [int(c) for c in exp.op.success_codes()]
        where = exp.op.operation_id
        if not codes and "302" in exp.op.operation["responses"]:
            # a download: only the redirect is declared; the client follows it and returns the file
            assert op.returns == ((200, "bytes"),), f"{where}: {op.returns}"
            continue
        if sorted(code for code, _ in op.returns) != codes:
            problems.append(f"{where}: statuses {[c for c, _ in op.returns]} != spec {codes}")
            continue
        members: set[Any] = set()
        for code in codes:
            try:
                tp = op.return_type(code)
            except Exception as exc:
                problems.append(f"{where} {code}: {op.return_expression(code)!r} does not evaluate: {exc!r}")
                continue
            evaluated += 1
            members |= _flatten(tp)
            content = resolve(doc, exp.op.operation["responses"][str(code)]).get("content") or {}
            json_media = [m for m in content if is_json_media(m)]
            if not content:
                ok = tp is None
            elif not json_media:
                ok = tp is bytes
            else:
                schema = resolve(doc, content[json_media[0]].get("schema", {}))
                if schema.get("type") == "array":
                    ok = typing.get_origin(tp) is list
                elif schema.get("type") == "object" and schema.get("properties"):
                    ok = _is_model(tp) or any(_is_model(m) for m in _flatten(tp))
                else:
                    ok = True  # scalars, maps, compositions: evaluating is the check
            if not ok:
                problems.append(f"{where} {code}: {op.return_expression(code)!r} does not fit the spec's response")
        annotation = inspect.signature(getattr(async_cls, exp.name)).return_annotation
        namespace: dict[str, Any] = dict(vars(sys.modules[async_cls.__module__]))  # the module's own imports
        for cls_name, module in op.models:
            namespace[cls_name] = getattr(importlib.import_module(f"githubapp.models.{module}"), cls_name)
        try:
            declared = _flatten(eval(annotation, namespace))
        except Exception as exc:
            problems.append(f"{where}: return annotation {annotation!r} does not evaluate: {exc!r}")
            continue
        if codes and declared != members:
            problems.append(f"{where}: annotation {annotation!r} != union of the 2xx types {members!r}")
    elapsed = time.perf_counter() - started
    print(f"\nreturn types: {evaluated} evaluated in {elapsed:.2f} s")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:50])
