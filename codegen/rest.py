"""REST operations -> descriptors for the ``rest/`` templates."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .names import pascal, safe_identifier, snake
from .pytypes import TypeMapper, union
from .spec import PinnedSpec, Schema, operations

JSON_MEDIA = re.compile(r"^application/(.+\+)?json$")


@dataclass
class Param:
    name: str  # Python name
    wire: str  # name in the URL, query or body
    annotation: str
    required: bool
    kind: str = ""  # path: "int" | "str"; query: "form" | "csv"


@dataclass
class Method:
    name: str
    operation_id: str
    http_method: str
    path: str
    summary: str
    docs_url: str
    deprecated: bool
    path_params: list[Param]
    query_params: list[Param]
    body_params: list[Param]
    body_mode: str | None  # "fields" | "data" | None
    body_media: str | None
    returns: list[tuple[int, str]]  # (status, expression)
    return_annotation: str
    accept: str | None
    server: str | None
    list_key: str | None
    models: list[str] = field(default_factory=list)

    @property
    def keyword_params(self) -> list[Param]:
        params = self.query_params + self.body_params
        return [p for p in params if p.required] + [p for p in params if not p.required]


@dataclass
class Namespace:
    key: str  # operationId prefix, e.g. "code-scanning"
    attr: str  # client attribute, e.g. "code_scanning"
    module: str
    async_class: str
    sync_class: str
    methods: list[Method]
    models: dict[str, str] = field(default_factory=dict)  # class -> model module
    uses_datetime: bool = False
    uses_builtins: bool = False

    @property
    def mixin(self) -> tuple[str, str] | None:
        """A handwritten base class that adds client state to this namespace: (module, class)."""
        return NAMESPACE_MIXINS.get(self.attr)


#: namespaces that also expose client state: ``gh.rate_limit`` is both the REST operations
#: (``await gh.rate_limit.get()``) and the pipeline's view of the limits (``gh.rate_limit["core"]``)
NAMESPACE_MIXINS: dict[str, tuple[str, str]] = {"rate_limit": ("githubapp.http.ratelimit", "RateLimitView")}


#: builtins the annotations use; a method with one of these names (``issues.list``) would shadow it
#: inside the class body for type checkers, so such namespaces spell them ``builtins.list``
ANNOTATION_BUILTINS = ("list", "dict", "str", "int", "float", "bool", "bytes")


def qualify_builtins(expr: str, names: set[str]) -> str:
    """``list[str]`` -> ``builtins.list[str]`` outside string literals (``Literal['list']`` stays)."""
    pieces = re.split(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""", expr)
    for i in range(0, len(pieces), 2):  # even pieces are outside quotes
        for name in names:
            pieces[i] = re.sub(rf"(?<![\w.]){name}\b", f"builtins.{name}", pieces[i])
    return "".join(pieces)


def synthetic_name(operation_id: str, suffix: str) -> str:
    return operation_id.replace("/", "-") + "-" + suffix


def json_schema_of(spec: PinnedSpec, response: dict[str, Any]) -> tuple[Schema | None, list[str]]:
    content = spec.resolve(response).get("content", {})
    media = list(content)
    for name in media:
        if JSON_MEDIA.match(name):
            return content[name].get("schema", {}), media
    return None, media


def collect_synthetic(spec: PinnedSpec) -> dict[str, Schema]:
    """Pass one: the inline request and response schemas that need a model of their own."""
    mapper = TypeMapper(spec)
    for _, _, op, _ in operations(spec):
        analyse_responses(spec, mapper, op)
        body = op.get("requestBody")
        if body:
            schema, _ = json_schema_of(spec, body)
            if schema is not None and "$ref" not in schema and (schema.get("properties") or schema.get("oneOf") or schema.get("anyOf")):
                mapper.synthetic.setdefault(synthetic_name(op["operationId"], "request"), schema)
    return mapper.synthetic


def analyse_responses(spec: PinnedSpec, mapper: TypeMapper, op: dict[str, Any]) -> tuple[list[tuple[int, str]], str | None, str | None]:
    """(status, type expression) for every 2xx, the Accept to send, and the wrapped list key."""
    returns: list[tuple[int, str]] = []
    media_seen: list[str] = []
    list_key = None
    codes = sorted(c for c in op["responses"] if c.startswith("2"))
    inline_schemas: list[Any] = []
    for code in codes:
        schema, media = json_schema_of(spec, op["responses"][code])
        media_seen.extend(media)
        if schema is not None:
            suffix = "response"
            if "$ref" not in schema and inline_schemas and schema not in inline_schemas:
                suffix = f"response-{code}"
            if "$ref" not in schema:
                inline_schemas.append(schema)
            expr = mapper.output(schema, synthetic_name(op["operationId"], suffix))
            list_key = list_key or wrapped_list_key(spec.resolve(schema), spec)
        elif media:
            expr = "bytes"
        else:
            expr = "None"
        returns.append((int(code), expr))
    if not codes and "302" in op["responses"]:  # downloads: the redirect is followed to the file
        returns.append((200, "bytes"))
    accept = None
    if media_seen and not any(JSON_MEDIA.match(m) for m in media_seen):
        accept = media_seen[0]
    return returns, accept, list_key


def wrapped_list_key(schema: Schema, spec: PinnedSpec) -> str | None:
    """``{"total_count": n, "workflow_runs": [...]}`` -> ``"workflow_runs"`` (paginated wrappers)."""
    props = schema.get("properties") or {}
    if "total_count" not in props:
        return None
    arrays = [k for k, v in props.items() if spec.resolve(v).get("type") == "array"]
    if len(arrays) > 1:  # e.g. search results: "items" (required, objects) beside a list of strings
        required = set(schema.get("required") or ())
        arrays = [k for k in arrays if k in required] or arrays
    if len(arrays) > 1:
        arrays = [k for k in arrays if _items_are_objects(spec, spec.resolve(props[k]))]
    return arrays[0] if len(arrays) == 1 else None


def _items_are_objects(spec: PinnedSpec, array: Schema) -> bool:
    items = spec.resolve(array.get("items") or {})
    return items.get("type") == "object" or "properties" in items


def body_fields(spec: PinnedSpec, schema: Schema) -> list[tuple[str, Schema, bool]] | None:
    """The fields of an object body as (wire name, schema, required), or None for a ``data=`` body.

    Top-level ``properties``, ``allOf`` parts and ``oneOf``/``anyOf`` variants are merged; a field is
    required when the object requires it or every variant does. Any non-object variant -> ``data=``.
    """
    parts = _object_parts(spec, schema)
    if parts is None or not parts[0]:
        return None
    props, required = parts
    return [(name, sub, name in required) for name, sub in props.items()]


def _object_parts(spec: PinnedSpec, schema: Schema) -> tuple[dict[str, Schema], set[str]] | None:
    schema = spec.resolve(schema)
    if schema.get("type") not in (None, "object"):
        return None
    props: dict[str, Schema] = dict(schema.get("properties") or {})
    required = set(schema.get("required", []))
    for part in schema.get("allOf", []):
        sub = _object_parts(spec, part)
        if sub is None:
            return None
        for name, prop in sub[0].items():
            props.setdefault(name, prop)
        required |= sub[1]
    variants = schema.get("oneOf") or schema.get("anyOf")
    if variants:
        per_variant = [_object_parts(spec, v) for v in variants]
        if any(v is None for v in per_variant):
            return None
        alternatives: dict[str, list[Schema]] = {}
        everywhere: set[str] | None = None
        for variant in per_variant:
            assert variant is not None
            for name, prop in variant[0].items():
                if name not in props:
                    alternatives.setdefault(name, []).append(prop)
            everywhere = variant[1] if everywhere is None else everywhere & variant[1]
        for name, options in alternatives.items():
            props[name] = {"anyOf": options} if len(options) > 1 else options[0]
        required |= everywhere or set()
    return props, required


def build(spec: PinnedSpec, mapper: TypeMapper) -> list[Namespace]:
    """Pass two: every operation as a :class:`Method`, grouped by namespace."""
    by_namespace: dict[str, list[Method]] = {}
    for path, http_method, op, item in operations(spec):
        op_id = op["operationId"]
        prefix, _, name = op_id.partition("/")
        mapper.used_models = set()
        params = [spec.resolve(p) for p in item.get("parameters", []) + op.get("parameters", [])]
        taken: set[str] = set()
        path_params: list[Param] = []
        for wire in re.findall(r"{([^}]+)}", path):
            param = next(p for p in params if p["in"] == "path" and p["name"] == wire)
            kind = path_kind(spec, param["schema"])
            py = snake(wire)
            taken.add(py)
            path_params.append(Param(py, wire, kind.replace("|", " | "), True, kind))
        query_params = []
        for param in params:
            if param["in"] != "query":
                continue
            py = unique(snake(param["name"]), taken, "query")
            style = "csv" if param.get("explode") is False else "form"
            query_params.append(Param(py, param["name"], mapper.input(param["schema"]), bool(param.get("required")), style))
        body_mode = body_media = None
        body_params: list[Param] = []
        body = op.get("requestBody")
        if body:
            body = spec.resolve(body)
            content = body["content"]
            body_media = next((m for m in content if JSON_MEDIA.match(m)), next(iter(content)))
            schema = content[body_media].get("schema", {})
            fields = body_fields(spec, schema) if JSON_MEDIA.match(body_media) else None
            if fields:
                body_mode = "fields"
                for wire, sub, required in fields:
                    py = unique(snake(wire), taken, "body")
                    body_params.append(Param(py, wire, mapper.input(sub), required))
            else:
                body_mode = "data"
                annotation = "bytes" if body_media == "application/octet-stream" else mapper.input(schema)
                body_params.append(Param("data", "", annotation, bool(body.get("required"))))
        returns, accept, list_key = analyse_responses(spec, mapper, op)
        exprs = [expr for _, expr in returns] or ["None"]
        server = (op.get("servers") or [{}])[0].get("url")
        by_namespace.setdefault(prefix, []).append(Method(
            name=safe_identifier(snake(name)), operation_id=op_id, http_method=http_method, path=path,
            summary=op.get("summary", "").strip(), docs_url=op.get("externalDocs", {}).get("url", ""),
            deprecated=bool(op.get("deprecated")), path_params=path_params, query_params=query_params,
            body_params=body_params, body_mode=body_mode, body_media=body_media, returns=returns,
            return_annotation=union(exprs), accept=accept, server=server, list_key=list_key,
            models=sorted(mapper.used_models),
        ))
    namespaces = []
    for key in sorted(by_namespace):
        methods = sorted(by_namespace[key], key=lambda m: m.name)
        names = [m.name for m in methods]
        if len(set(names)) != len(names):
            raise SystemExit(f"namespace {key}: duplicate method names")
        attr = snake(key)
        ns = Namespace(key, attr, attr, f"Async{pascal(key)}Api", f"{pascal(key)}Api", methods)
        assert mapper.layout is not None
        for method in methods:
            for cls in method.models:
                ns.models[cls] = mapper.layout.index[cls]
            if any("datetime" in p.annotation for p in method.keyword_params):
                ns.uses_datetime = True
        ns.models = dict(sorted(ns.models.items()))
        shadowed = {m.name for m in methods} & set(ANNOTATION_BUILTINS)
        if shadowed:
            ns.uses_builtins = True
            for method in methods:
                method.return_annotation = qualify_builtins(method.return_annotation, shadowed)
                for p in method.path_params + method.query_params + method.body_params:
                    p.annotation = qualify_builtins(p.annotation, shadowed)
        namespaces.append(ns)
    return namespaces


def path_kind(spec: PinnedSpec, schema: Schema) -> str:
    """``"int"``, ``"str"`` or ``"int|str"`` (``workflow_id`` is an id or a file name)."""
    schema = spec.resolve(schema)
    types = {spec.resolve(s).get("type") for s in schema.get("oneOf") or schema.get("anyOf") or [schema]}
    if types == {"integer"}:
        return "int"
    return "int|str" if "integer" in types else "str"


def unique(name: str, taken: set[str], where: str) -> str:
    """Keep Python names unique inside one signature: a body field ``name`` beside a path ``name``."""
    if name in taken or name in ("data",):
        name = f"{where}_{name}"
    taken.add(name)
    return name
