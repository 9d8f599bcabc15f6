"""JSON Schema -> Python type expressions for method signatures and return types.

The mapper runs twice. Pass one (no layout yet) walks response schemas and records the inline
objects that need a generated model of their own (named after the operationId). Pass two, after
datamodel-code-generator ran, renders expressions with the real class names.
"""

from __future__ import annotations

from typing import Any

from .models import ModelLayout
from .spec import PinnedSpec, Schema

COMPONENT_PREFIX = "#/components/schemas/"


def literal(values: list[Any]) -> str:
    return "Literal[" + ", ".join(repr(v) for v in values) + "]"


def union(parts: list[str]) -> str:
    seen: list[str] = []
    for part in parts:
        for piece in split_union(part):
            if piece not in seen:
                seen.append(piece)
    if "Any" in seen:
        return "Any"
    if "None" in seen:  # None last reads best: ``str | None``
        seen = [p for p in seen if p != "None"] + ["None"]
    return " | ".join(seen)


def split_union(expr: str) -> list[str]:
    """Split a rendered union at its top level."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(expr):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(expr[start:i].strip())
            start = i + 1
    parts.append(expr[start:].strip())
    return parts


def nullable(schema: Schema) -> bool:
    type_ = schema.get("type")
    return bool(schema.get("nullable")) or (isinstance(type_, list) and "null" in type_)


def is_object_model(schema: Schema) -> bool:
    """Inline schemas that get a generated model: objects with properties, and allOf compositions."""
    return bool(schema.get("properties")) or ("allOf" in schema and len(schema["allOf"]) > 1)


class TypeMapper:
    """Maps schemas to type expressions. ``synthetic`` collects the inline models to generate."""

    def __init__(self, spec: PinnedSpec, layout: ModelLayout | None = None) -> None:
        self.spec = spec
        self.layout = layout
        self.synthetic: dict[str, Schema] = {}
        self.used_models: set[str] = set()

    # -- inputs: parameters and body fields ---------------------------------------------------
    def input(self, schema: Schema) -> str:
        """Type of a value the caller passes: models are accepted as plain dicts."""
        expr = self._input(schema)
        return union([expr, "None"]) if nullable(self.spec.resolve(schema)) or nullable(schema) else expr

    def _input(self, schema: Schema) -> str:
        schema = self.spec.resolve(schema)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                parts = [self.input(s) for s in schema[key]]
                if schema.get("properties"):
                    parts.append("Mapping[str, Any]")
                return union(parts)
        if "allOf" in schema:
            if len(schema["allOf"]) == 1 and not schema.get("properties"):
                return self._input(schema["allOf"][0])
            return "Mapping[str, Any]"
        if "enum" in schema:
            values = [v for v in schema["enum"] if v is not None]
            return literal(values) if values else "None"
        if schema.get("type") == "string" and schema.get("format") == "date-time":
            return "datetime | str"
        return self._scalar(schema, item=self._input, array="list", mapping="Mapping[str, Any]")

    # -- outputs: what a call returns ----------------------------------------------------------
    def output(self, schema: Schema, hint: str) -> str:
        """Type of a decoded response value; ``hint`` names inline models after the operation."""
        expr = self._output(schema, hint)
        return union([expr, "None"]) if nullable(schema) else expr

    def _output(self, schema: Schema, hint: str) -> str:
        ref = schema.get("$ref", "")
        if ref.startswith(COMPONENT_PREFIX):
            key = ref[len(COMPONENT_PREFIX):]
            target = self.spec.resolve(schema)
            if self.layout is None:
                return self._output_inline(target, key) if not is_object_model(target) else "Any"
            cls = self.layout.by_component.get(key)
            if cls is not None and cls not in self.layout.root_models:
                self.used_models.add(cls)
                return cls
            return union([self._output_inline(target, key)] + (["None"] if nullable(target) else []))
        if ref:
            return self._output(self.spec.resolve(schema), hint)
        return self._output_inline(schema, hint)

    def _output_inline(self, schema: Schema, hint: str) -> str:
        if is_object_model(schema) and not hint.startswith("#"):
            if self.layout is None:
                self.synthetic.setdefault(hint, schema)
                return "Any"
            cls = self.layout.by_component[hint]
            self.used_models.add(cls)
            return cls
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return union([self.output(s, f"{hint}-variant{i + 1}") for i, s in enumerate(schema[key])])
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return self.output(schema["allOf"][0], hint)
        if "enum" in schema:
            return self._scalar({**schema, "enum": None}, item=lambda s: self.output(s, hint + "-item"))
        return self._scalar(schema, item=lambda s: self.output(s, hint + "-item"))

    # -- shared ------------------------------------------------------------------------------------
    def _scalar(self, schema: Schema, item: Any, array: str = "list", mapping: str = "dict[str, Any]") -> str:
        """Scalars, arrays and free-form objects. Inputs take ``list`` (a ``Sequence`` would accept a bare
        ``str`` for ``labels=``) and ``Mapping`` for objects."""
        type_ = schema.get("type")
        if isinstance(type_, list):
            return union([self._scalar({**schema, "type": t}, item, array, mapping) for t in type_])
        if type_ == "string":
            if schema.get("format") == "binary":
                return "bytes"
            return "str"
        if type_ == "integer":
            return "int"
        if type_ == "number":
            return "float"
        if type_ == "boolean":
            return "bool"
        if type_ == "null":
            return "None"
        if type_ == "array":
            return f"{array}[{item(schema.get('items', {}))}]"
        if type_ == "object" or "properties" in schema or "additionalProperties" in schema:
            return mapping
        return "Any"
