"""Reading the pinned descriptions in ``spec/`` for spec-driven tests, independently of ``codegen``.

The JSON is parsed here, ``spec/patches.json`` is applied with a small JSON-pointer
implementation of our own, and ``$ref`` pointers are followed on demand::

    from spec_helpers import rest_operations, response_examples, webhook_examples

    for op in rest_operations():           # every REST operation, in spec order
        op.operation_id, op.method, op.path, op.parameters
    for ex in response_examples():         # every JSON example of a 2xx response
        ex.operation.operation_id, ex.status, ex.value

Example Objects are unwrapped to their ``value``: the sibling ``x-github-breaking-changes`` (a merge
patch describing a newer API version) and ``summary``/``description`` are never payload data.
"""

from __future__ import annotations

import copy
import functools
import json
import keyword
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "ROOT",
    "SPEC_FILES",
    "HTTP_METHODS",
    "is_json_media",
    "py_name",
    "load_spec",
    "pointer",
    "pointer_get",
    "resolve",
    "RestOperation",
    "rest_operations",
    "Example",
    "media_examples",
    "expand_example_refs",
    "response_examples",
    "WebhookOperation",
    "webhook_operations",
    "webhook_examples",
    "find_key",
]

ROOT = Path(__file__).resolve().parent.parent
SPEC_FILES: dict[str, Path] = {
    "rest": ROOT / "spec" / "openapi" / "api.github.com.json",
    "webhooks": ROOT / "spec" / "openapi-webhooks" / "api.github.com.json",
}
PATCHES_FILE = ROOT / "spec" / "patches.json"
HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")

SpecKind = Literal["rest", "webhooks"]
_JSON_MEDIA = re.compile(r"^application/(?:[\w.-]+\+)?json$")


def is_json_media(media: str) -> bool:
    """``application/json``, ``application/scim+json``… (not ``text/plain`` or ``application/vnd.github.diff``)."""
    return bool(_JSON_MEDIA.match(media.split(";")[0].strip()))


def py_name(wire: str) -> str:
    """The Python name DESIGN.md gives a spec name: ``list-for-repo`` -> ``list_for_repo``, ``async`` -> ``async_``."""
    name = re.sub(r"\W", "_", wire)
    return name + "_" if keyword.iskeyword(name) or name in ("self", "cls") else name


# -- JSON pointers -------------------------------------------------------------------------------


def pointer(*parts: str | int) -> str:
    """``pointer("paths", "/zen", "get")`` -> ``"#/paths/~1zen/get"``."""
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _split(ptr: str) -> list[str]:
    if not ptr.startswith("#/"):
        raise ValueError(f"not a local JSON pointer: {ptr!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in ptr[2:].split("/")]


def pointer_get(document: Any, ptr: str) -> Any:
    """The node at ``ptr`` (``#/components/schemas/issue``)."""
    node = document
    for part in _split(ptr):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def resolve(document: Any, node: Any) -> Any:
    """Follow ``$ref`` until a node without one is reached (cycles fail loudly)."""
    for _ in range(64):
        if not (isinstance(node, dict) and "$ref" in node):
            return node
        node = pointer_get(document, node["$ref"])
    raise ValueError(f"$ref chain too long at {node!r:.120}")


def _apply_patches(document: dict[str, Any], kind: str) -> None:
    patches = json.loads(PATCHES_FILE.read_text())["patches"]
    for patch in patches:
        if patch["spec"] != kind:
            continue
        *parents, last = _split(patch["path"])
        target = pointer_get(document, pointer(*parents)) if parents else document
        key: Any = int(last) if isinstance(target, list) and last != "-" else last
        if patch["op"] == "remove":
            del target[key]
        elif patch["op"] == "replace":
            if isinstance(target, dict) and key not in target:
                raise KeyError(f"patch replace: {patch['path']} does not exist")
            target[key] = copy.deepcopy(patch["value"])
        elif patch["op"] == "add":
            if isinstance(target, list):
                target.insert(len(target) if key == "-" else key, copy.deepcopy(patch["value"]))
            else:
                target[key] = copy.deepcopy(patch["value"])
        else:
            raise ValueError(f"patch {patch['path']}: unknown op {patch['op']!r}")


@functools.cache
def load_spec(kind: SpecKind) -> dict[str, Any]:
    """The pinned description ``kind`` with ``spec/patches.json`` applied (cached; do not mutate)."""
    document: dict[str, Any] = json.loads(SPEC_FILES[kind].read_bytes())
    _apply_patches(document, kind)
    return document


def find_key(value: Any, key: str) -> str | None:
    """The JSON path of the first object key ``key`` inside ``value`` (None when absent)."""
    if isinstance(value, dict):
        if key in value:
            return key
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for k, v in items:
        found = find_key(v, key)
        if found is not None:
            return f"{k}.{found}"
    return None


# -- REST operations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestOperation:
    """One REST operation as the spec states it."""

    operation_id: str
    method: str  # upper case
    path: str
    operation: dict[str, Any]
    parameters: tuple[dict[str, Any], ...]  # resolved; operation-level ones override path-level ones
    where: str  # JSON pointer of the operation

    @property
    def prefix(self) -> str:
        return self.operation_id.partition("/")[0]

    @property
    def suffix(self) -> str:
        return self.operation_id.partition("/")[2]

    @property
    def namespace(self) -> str:
        """The client attribute: ``code-scanning/get-alert`` -> ``code_scanning``."""
        return py_name(self.prefix)

    @property
    def method_name(self) -> str:
        """The method: ``code-scanning/get-alert`` -> ``get_alert``."""
        return py_name(self.suffix)

    @property
    def placeholders(self) -> list[str]:
        """The ``{...}`` names of the path, in order."""
        return re.findall(r"{([^}]+)}", self.path)

    def params_in(self, location: str) -> list[dict[str, Any]]:
        return [p for p in self.parameters if p["in"] == location]

    def success_codes(self) -> list[str]:
        return sorted(code for code in self.operation.get("responses", {}) if code.startswith("2"))


@functools.cache
def rest_operations() -> tuple[RestOperation, ...]:
    """Every operation of the REST description, in spec order."""
    doc = load_spec("rest")
    out = []
    for path, item in doc["paths"].items():
        shared = [resolve(doc, p) for p in item.get("parameters", [])]
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            own = [resolve(doc, p) for p in op.get("parameters", [])]
            keys = {(p["name"], p["in"]) for p in own}
            params = tuple([p for p in shared if (p["name"], p["in"]) not in keys] + own)
            out.append(RestOperation(op["operationId"], method.upper(), path, op, params, pointer("paths", path, method)))
    return tuple(out)


# -- examples -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One example payload and where it comes from."""

    where: str  # JSON pointer of the Example Object (after following $ref), or of the inline ``example``
    name: str  # key in the ``examples`` map, or ``example`` for the inline one
    media: str
    value: Any
    status: int = 0  # REST responses only
    operation: RestOperation | None = None  # REST responses only
    site: str = ""  # JSON pointer of the ``examples`` map entry (before following $ref)

    @property
    def label(self) -> str:
        owner = self.operation.operation_id if self.operation else self.where
        return f"{owner} {self.status} {self.name}" if self.status else f"{owner} {self.name}"


def media_examples(document: dict[str, Any], media_object: dict[str, Any], where: str) -> Iterator[tuple[str, str, str, Any]]:
    """``(name, example pointer, map entry pointer, payload)`` of each example of a Media Type Object.

    An inline ``example`` is the payload itself; an ``examples`` entry is an Example Object (maybe
    behind ``$ref``) whose payload is its ``value`` (``externalValue`` ones are skipped).
    """
    if "example" in media_object:
        yield "example", where + "/example", where + "/example", media_object["example"]
    for name, entry in (media_object.get("examples") or {}).items():
        site = where + "/examples/" + pointer(name)[2:]
        target = entry["$ref"] if isinstance(entry, dict) and "$ref" in entry else site
        example = resolve(document, entry)
        if not isinstance(example, dict) or "value" not in example:
            continue  # externalValue only: nothing to decode
        value = example["value"]
        if _example_ref(value):  # ``{"value": {"$ref": "#/components/examples/issue"}}``
            target = value["$ref"]
        yield name, target, site, expand_example_refs(document, value)


def _example_ref(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"$ref"} and str(value["$ref"]).startswith("#/components/examples/")


def expand_example_refs(document: dict[str, Any], value: Any, depth: int = 0) -> Any:
    """Replace GitHub's ``{"$ref": "#/components/examples/x"}`` placeholders (at any depth) by that example's value."""
    if depth > 32:
        raise ValueError("example $ref nesting too deep")
    if _example_ref(value):
        return expand_example_refs(document, pointer_get(document, value["$ref"])["value"], depth + 1)
    if isinstance(value, dict):
        return {k: expand_example_refs(document, v, depth) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_example_refs(document, v, depth) for v in value]
    return value


@functools.cache
def response_examples() -> tuple[Example, ...]:
    """Every example of a JSON 2xx response of every REST operation."""
    doc = load_spec("rest")
    out = []
    for op in rest_operations():
        for code in op.success_codes():
            entry = op.operation["responses"][code]
            response = resolve(doc, entry)
            at = entry["$ref"] if "$ref" in entry else op.where + "/" + pointer("responses", code)[2:]
            for media, media_object in (response.get("content") or {}).items():
                if not is_json_media(media):
                    continue
                where = at + "/" + pointer("content", media)[2:]
                for name, target, site, value in media_examples(doc, media_object, where):
                    out.append(Example(target, name, media, value, int(code), op, site))
    return tuple(out)


# -- webhooks -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookOperation:
    """One webhook variant: ``issues/opened`` is ``X-GitHub-Event: issues`` with ``action: opened``."""

    name: str  # key in ``webhooks`` (``issues-opened``)
    operation_id: str
    operation: dict[str, Any]
    where: str

    @property
    def event(self) -> str:
        """The ``X-GitHub-Event`` header value (``-`` becomes ``_``)."""
        return self.operation_id.partition("/")[0].replace("-", "_")

    @property
    def action(self) -> str | None:
        action = self.operation_id.partition("/")[2]
        return action.replace("-", "_") if action else None

    @property
    def key(self) -> str:
        """``"issues.opened"``, or ``"push"`` for events without actions."""
        return f"{self.event}.{self.action}" if self.action else self.event

    def body_schema(self) -> dict[str, Any]:
        doc = load_spec("webhooks")
        body = resolve(doc, self.operation["requestBody"])
        media = next(m for m in body["content"] if is_json_media(m))
        schema: dict[str, Any] = resolve(doc, body["content"][media]["schema"])
        return schema


@functools.cache
def webhook_operations() -> tuple[WebhookOperation, ...]:
    """Every webhook of the webhooks description, in spec order."""
    doc = load_spec("webhooks")
    out = []
    for name, item in doc["webhooks"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                out.append(WebhookOperation(name, op["operationId"], op, pointer("webhooks", name, method)))
    return tuple(out)


@functools.cache
def webhook_examples() -> tuple[tuple[WebhookOperation, Example], ...]:
    """Every example of a webhook's JSON request body."""
    doc = load_spec("webhooks")
    out = []
    for hook in webhook_operations():
        body = resolve(doc, hook.operation.get("requestBody", {}))
        for media, media_object in (body.get("content") or {}).items():
            if not is_json_media(media):
                continue
            where = hook.where + "/" + pointer("requestBody", "content", media)[2:]
            for name, target, site, value in media_examples(doc, media_object, where):
                out.append((hook, Example(target, name, media, value, site=site)))
    return tuple(out)
