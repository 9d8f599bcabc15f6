#!/usr/bin/env python3
"""Write a small, demo-ready OpenAPI document for the Prism mock server.

The full GitHub description (spec/openapi/api.github.com.json, ~13 MB) takes
Prism a long time to load.  This script keeps only the operations the demo
calls plus every component they reach through ``$ref`` (transitively, across
schemas, parameters, responses, headers and examples), then applies a few
demo-only fixes so the mock behaves like api.github.com for our client:

* every ``application/json`` response is also offered as
  ``application/vnd.github+json`` (the client's Accept header; Prism answers
  406 otherwise);
* request-body schemas with ``nullable`` but no ``type`` are rewritten so that
  Prism can compile them and really validates the client's JSON bodies;
* examples written as ``{"value": {"$ref": ...}}`` become plain ``$ref``s
  (otherwise Prism serves the Example Object itself, wrapped in "value");
* pagination stays on this machine: page 1 of ``GET /repos/{owner}/{repo}/issues``
  sends ``Link: <BASE/repositories/1296269/issues?...&page=2>; rel="next"``
  (GitHub's own style of next link), and that page-2 URL is a synthetic
  operation whose Link header has no ``next``, so a pagination loop stops
  after two requests, all to ``--base-url``.

The source spec is never modified.  Usage:

    python scripts/mock_spec.py --base-url http://127.0.0.1:4010 -o build/mock-spec.json
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = ROOT / "spec" / "openapi" / "api.github.com.json"

# (path, method) pairs the demo calls: examples/quickstart.py, then examples/app.py --demo
# (an installation token, then a comment from the background handler).
DEMO_OPERATIONS: list[tuple[str, str]] = [
    ("/repos/{owner}/{repo}/issues", "post"),
    ("/repos/{owner}/{repo}/issues", "get"),
    ("/repos/{owner}/{repo}/issues/{issue_number}", "get"),
    ("/app/installations/{installation_id}/access_tokens", "post"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", "post"),
]
LIST_PATH = "/repos/{owner}/{repo}/issues"
PAGE2_PATH = "/repositories/{repository_id}/issues"
REPOSITORY_ID = 1296269  # octocat/Hello-World
GITHUB_JSON = "application/vnd.github+json"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

Json = Any


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def resolve_pointer(doc: Json, ref: str) -> Json:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $refs are supported, got {ref!r}")
    node = doc
    for token in ref[2:].split("/"):
        node = node[_unescape(token)]
    return node


def collect_refs(doc: Json, roots: list[Json]) -> set[str]:
    """All local ``#/components/...`` refs reachable from ``roots``."""
    seen: set[str] = set()
    stack: list[Json] = list(roots)
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref not in seen:
                seen.add(ref)
                stack.append(resolve_pointer(doc, ref))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return seen


def reduce_spec(spec: Json, operations: list[tuple[str, str]]) -> Json:
    paths: dict[str, Json] = {}
    for path, method in operations:
        item = spec["paths"].get(path)
        if item is None or method not in item:
            raise SystemExit(f"mock_spec: {method.upper()} {path} is not in the spec")
        out = paths.setdefault(path, {k: v for k, v in item.items() if k not in HTTP_METHODS})
        out[method] = item[method]
    paths = copy.deepcopy(paths)

    components: dict[str, dict[str, Json]] = {}
    for ref in sorted(collect_refs(spec, [paths])):
        parts = [_unescape(t) for t in ref[2:].split("/")]
        if len(parts) != 3 or parts[0] != "components":
            raise SystemExit(f"mock_spec: unsupported $ref {ref!r}")
        _, kind, name = parts
        components.setdefault(kind, {})[name] = copy.deepcopy(spec["components"][kind][name])

    used_tags = {
        t for item in paths.values() for op in item.values() if isinstance(op, dict) for t in op.get("tags", [])
    }
    return {
        "openapi": spec["openapi"],
        "info": {**spec["info"], "title": spec["info"]["title"] + " (reduced for the offline demo)"},
        "tags": [t for t in spec.get("tags", []) if t.get("name") in used_tags],
        "paths": paths,
        "components": components,
    }


def _walk(node: Json) -> Iterator[Json]:
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def fix_example_value_refs(doc: Json) -> None:
    """``examples: {x: {value: {$ref: '#/components/examples/..'}}}`` -> ``{$ref: ..}``."""
    for node in _walk(doc):
        if isinstance(node, dict) and isinstance(node.get("examples"), dict):
            for key, ex in node["examples"].items():
                if not isinstance(ex, dict):
                    continue
                value = ex.get("value")
                if (
                    isinstance(value, dict)
                    and set(value) == {"$ref"}
                    and str(value["$ref"]).startswith("#/components/examples/")
                ):
                    node["examples"][key] = {"$ref": value["$ref"]}


def make_request_bodies_validatable(doc: Json) -> None:
    """``{nullable: true, oneOf: [...]}`` without ``type`` -> ``anyOf`` of nullable branches.

    Prism's validator (Ajv) refuses to compile a schema that has ``nullable``
    without ``type`` and then silently skips body validation (create-issue's
    ``milestone`` is like that).  The rewrite accepts exactly the same values.
    """
    for item in doc["paths"].values():
        for method, op in item.items():
            if method not in HTTP_METHODS or "requestBody" not in op:
                continue
            for node in _walk(op["requestBody"]):
                if not (isinstance(node, dict) and node.get("nullable") is True and "type" not in node):
                    continue
                branches = node.pop("oneOf", None) or node.pop("anyOf", None)
                if isinstance(branches, list):
                    node.pop("nullable")
                    node["anyOf"] = [{**b, "nullable": True} if "type" in b else b for b in branches]


def add_github_media_type(doc: Json) -> None:
    """Offer ``application/vnd.github+json`` wherever ``application/json`` is offered."""
    holders: list[Json] = []
    for item in doc["paths"].values():
        for method, op in item.items():
            if method in HTTP_METHODS:
                holders.extend(op.get("responses", {}).values())
    holders.extend(doc["components"].get("responses", {}).values())
    for resp in holders:
        content = resp.get("content") if isinstance(resp, dict) else None
        if isinstance(content, dict) and "application/json" in content and GITHUB_JSON not in content:
            content[GITHUB_JSON] = copy.deepcopy(content["application/json"])


def _issue(template: Json, number: int, title: str, body: str) -> Json:
    old = f"/issues/{template['number']}"
    text = json.dumps(template).replace(old, f"/issues/{number}")
    issue = json.loads(text)
    issue.update(id=number, number=number, title=title, body=body)
    return issue


def _page_response(items: list[Json], link: str) -> Json:
    content = {
        "schema": {"type": "array", "items": {"$ref": "#/components/schemas/issue"}},
        "examples": {"default": {"summary": "Demo page", "value": items}},
    }
    return {
        "description": "Response",
        "content": {"application/json": content, GITHUB_JSON: copy.deepcopy(content)},
        "headers": {"Link": {"schema": {"type": "string"}, "example": link}},
    }


def add_local_pagination(doc: Json, base_url: str) -> None:
    """Two deterministic pages of issues whose Link headers point at ``base_url`` only."""
    base = base_url.rstrip("/")
    template = doc["components"]["examples"]["issue"]["value"]
    page1 = [
        _issue(template, 1347, "Found a bug", "I'm having a problem with this."),
        _issue(template, 1348, "Add a dark theme", "It would be easier on the eyes."),
    ]
    page2 = [_issue(template, 1349, "Typo in README", "'recieve' should be 'receive'.")]

    def url(page: int) -> str:
        return f"{base}/repositories/{REPOSITORY_ID}/issues?per_page=2&page={page}"

    list_op = doc["paths"][LIST_PATH]["get"]
    list_op["responses"]["200"] = _page_response(page1, f'<{url(2)}>; rel="next", <{url(2)}>; rel="last"')

    page2_op = copy.deepcopy(list_op)
    page2_op["operationId"] = "issues/list-for-repo-by-id"
    page2_op["summary"] = "List repository issues by repository id (page 2 of the offline demo)"
    page2_op["parameters"] = [
        {"name": "repository_id", "in": "path", "required": True, "schema": {"type": "integer"}},
        *[
            p
            for p in list_op.get("parameters", [])
            if p.get("$ref") not in ("#/components/parameters/owner", "#/components/parameters/repo")
        ],
    ]
    page2_op["responses"]["200"] = _page_response(page2, f'<{url(1)}>; rel="prev", <{url(1)}>; rel="first"')
    doc["paths"][PAGE2_PATH] = {"get": page2_op}


def rewrite_header_hosts(doc: Json, base_url: str) -> None:
    """Header examples (e.g. POST's Location) name the mock, never https://api.github.com."""
    base = base_url.rstrip("/")
    for node in _walk(doc):
        if isinstance(node, dict) and isinstance(node.get("headers"), dict):
            for header in node["headers"].values():
                if isinstance(header, dict) and isinstance(header.get("example"), str):
                    header["example"] = header["example"].replace("https://api.github.com", base)


def build(spec_path: Path, base_url: str | None, operations: list[tuple[str, str]] | None = None) -> Json:
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    doc = reduce_spec(spec, operations or DEMO_OPERATIONS)
    fix_example_value_refs(doc)
    make_request_bodies_validatable(doc)
    add_github_media_type(doc)
    if base_url:
        doc["servers"] = [{"url": base_url}]
        if "get" in doc["paths"].get(LIST_PATH, {}):
            add_local_pagination(doc, base_url)
        rewrite_header_hosts(doc, base_url)
    dangling = sorted(r for r in collect_refs_lenient(doc) if not _resolves(doc, r))
    if dangling:
        raise SystemExit(f"mock_spec: unresolved $refs in the reduced spec: {dangling}")
    return doc


def collect_refs_lenient(doc: Json) -> set[str]:
    return {n["$ref"] for n in _walk(doc) if isinstance(n, dict) and isinstance(n.get("$ref"), str)}


def _resolves(doc: Json, ref: str) -> bool:
    try:
        resolve_pointer(doc, ref)
        return True
    except (KeyError, IndexError, TypeError, ValueError):
        return False


def parse_operation(text: str) -> tuple[str, str]:
    method, _, path = text.strip().partition(" ")
    if method.lower() not in HTTP_METHODS or not path.startswith("/"):
        raise argparse.ArgumentTypeError(f"expected 'METHOD /path', got {text!r}")
    return path.strip(), method.lower()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="full OpenAPI JSON (read only)")
    ap.add_argument(
        "--base-url",
        help="the mock's own URL, e.g. http://127.0.0.1:4010; enables the local two-page pagination fixture",
    )
    ap.add_argument("-o", "--output", type=Path, help="where to write (default: stdout)")
    ap.add_argument(
        "--op",
        dest="operations",
        action="append",
        type=parse_operation,
        metavar="'METHOD /path'",
        help="operation to keep (repeatable; default: the quickstart's three issue operations)",
    )
    ap.add_argument("-q", "--quiet", action="store_true", help="no summary line on stderr")
    args = ap.parse_args(argv)

    doc = build(args.spec, args.base_url, args.operations)
    text = json.dumps(doc, indent=1, ensure_ascii=False)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n", encoding="utf-8")
        if not args.quiet:
            print(
                f"mock_spec: wrote {args.output} ({len(doc['paths'])} paths, "
                f"{sum(len(v) for v in doc['components'].values())} components)",
                file=sys.stderr,
            )
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
