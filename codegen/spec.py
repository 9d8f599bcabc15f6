"""Loading the pinned descriptions: lock verification, patches, ``$ref`` resolution, cleaning."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = ROOT / "spec"
LOCK_FILE = SPEC_DIR / "spec.lock"
PATCHES_FILE = SPEC_DIR / "patches.json"

#: string formats that keep a Python type of their own; every other format is generated as ``str``
#: (``uri`` and ``email`` must not be rejected when GitHub sends ``""`` or a relative URL).
KEPT_FORMATS = frozenset({"date-time", "date"})

Schema = dict[str, Any]


@dataclass(frozen=True)
class PinnedSpec:
    """One pinned description with what the lock says of it."""

    kind: str  # "rest" | "webhooks"
    package: str
    version: str
    document: dict[str, Any]

    def resolve(self, node: Any) -> Any:
        """Follow local ``$ref`` pointers until a node without one is reached."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            node = pointer_get(self.document, node["$ref"])
            seen += 1
            if seen > 64:
                raise ValueError(f"$ref cycle in {self.kind} spec at {node!r:.80}")
        return node


def load_lock() -> dict[str, dict[str, str]]:
    lock: dict[str, dict[str, str]] = json.loads(LOCK_FILE.read_text())
    return lock


def load(kind: str) -> PinnedSpec:
    """Load one pinned description, verify its sha256 against ``spec.lock`` and apply patches."""
    entry = load_lock()[kind]
    raw = (ROOT / entry["file"]).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != entry["sha256"]:
        raise SystemExit(
            f"{entry['file']}: sha256 {digest} does not match spec.lock ({entry['sha256']}); "
            "run `make update-spec` instead of editing the pinned file"
        )
    document = json.loads(raw)
    apply_patches(document, kind)
    return PinnedSpec(kind, entry["package"], entry["version"], document)


def apply_patches(document: dict[str, Any], kind: str) -> None:
    """Apply the JSON-pointer fixes of ``spec/patches.json`` that target ``kind``."""
    patches = json.loads(PATCHES_FILE.read_text())["patches"]
    for patch in patches:
        if patch["spec"] != kind:
            continue
        if not patch.get("reason"):
            raise SystemExit(f"patch {patch['path']} has no reason")
        *parents, last = split_pointer(patch["path"])
        target = pointer_get(document, join_pointer(parents))
        key: Any = int(last) if isinstance(target, list) else last
        if patch["op"] in ("add", "replace"):
            if patch["op"] == "replace" and (key not in target if isinstance(target, dict) else False):
                raise SystemExit(f"patch replace: {patch['path']} does not exist")
            target[key] = copy.deepcopy(patch["value"])
        elif patch["op"] == "remove":
            del target[key]
        else:
            raise SystemExit(f"patch {patch['path']}: unknown op {patch['op']!r}")


def split_pointer(pointer: str) -> list[str]:
    if not pointer.startswith("#/") and not pointer.startswith("/"):
        raise ValueError(f"not a local JSON pointer: {pointer!r}")
    body = pointer[2:] if pointer.startswith("#/") else pointer[1:]
    return [part.replace("~1", "/").replace("~0", "~") for part in body.split("/")]


def join_pointer(parts: list[str]) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def pointer_get(document: Any, pointer: str) -> Any:
    node = document
    for part in split_pointer(pointer):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def clean_schema(schema: Any) -> Any:
    """A copy of ``schema`` fit for model generation.

    Drops vendor extensions (``x-github-breaking-changes`` describes a newer API version and is not
    data), examples, and string formats outside :data:`KEPT_FORMATS`. Property *names* are data and
    kept even when they look like keywords (a property may be called ``example``).
    """
    if isinstance(schema, list):
        return [clean_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-") or key in ("example", "examples", "externalDocs", "xml"):
            continue
        if key == "format" and value not in KEPT_FORMATS:
            continue
        if key == "additionalProperties" and isinstance(value, bool):
            continue  # `false` would make pydantic forbid the fields GitHub adds later; `true` is our default
        if key in ("properties", "patternProperties", "$defs", "definitions"):
            out[key] = {name: clean_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not", "oneOf", "anyOf", "allOf", "prefixItems", "if", "then", "else", "contains"):
            out[key] = clean_schema(value)
        elif key in ("enum", "const", "default", "required", "type", "title", "description", "nullable", "$ref"):
            out[key] = value
        else:
            out[key] = clean_schema(value)
    return out


def model_schemas(schemas: dict[str, Schema]) -> dict[str, Schema]:
    """Component schemas ready for datamodel-code-generator (all cleaned, see :func:`clean_schema`).

    - ``$ref`` to a scalar component (an enum, a string, an array alias) is replaced by a copy of it,
      so its ``nullable`` survives (collapsing root models would drop it);
    - ``oneOf``/``anyOf`` members are ordered by how many properties they declare, most first: with
      ``extra="allow"`` pydantic's smart unions tie between a rich and an empty model and keep the first.
    """
    cleaned = {key: clean_schema(value) for key, value in schemas.items()}
    prefix = "#/components/schemas/"

    def target(node: Schema) -> Schema:
        ref = node.get("$ref", "")
        return cleaned.get(ref[len(prefix):], node) if ref.startswith(prefix) else node

    def is_scalar(node: Schema) -> bool:
        return not node.get("properties") and not any(k in node for k in ("allOf", "oneOf", "anyOf", "$ref")) and node.get("type") != "object"

    def width(node: Schema) -> int:
        node = target(node)
        return len(node.get("properties") or {}) + sum(width(p) for p in node.get("allOf", []))

    def rewrite(node: Any, depth: int = 0) -> Any:
        if isinstance(node, list):
            return [rewrite(item, depth) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref", "")
        if ref.startswith(prefix) and depth < 8:
            referenced = cleaned.get(ref[len(prefix):])
            if referenced is not None and is_scalar(referenced):
                return rewrite(copy.deepcopy(referenced), depth + 1)
        out = {}
        for key, value in node.items():
            if key == "properties":
                out[key] = {name: rewrite(sub, depth) for name, sub in value.items()}
            elif key in ("oneOf", "anyOf"):
                members = [rewrite(m, depth) for m in value]
                out[key] = sorted(members, key=lambda m: -width(m))
            elif isinstance(value, (dict, list)):
                out[key] = rewrite(value, depth)
            else:
                out[key] = value
        return out

    return {key: rewrite(value) for key, value in cleaned.items()}


def operations(spec: PinnedSpec) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """Every (path, http method, operation, path item) of a REST description, in spec order."""
    out = []
    for path, item in spec.document["paths"].items():
        for method, op in item.items():
            if method in ("get", "put", "post", "patch", "delete", "head", "options"):
                out.append((path, method.upper(), op, item))
    return out
