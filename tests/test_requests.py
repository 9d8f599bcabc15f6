"""Requests are built right: method, percent-encoded path, query, body and headers.

Expectations are computed here, independently, from the pinned spec
(``spec/openapi/api.github.com.json``), never read back from the generated ``_OPERATIONS``:
for every namespace a few operations are picked deterministically (one with query parameters,
one with a JSON body, the one with the most path parameters), arguments are synthesized from the
parameter schemas and the request the client sends through respx is compared with the template.
"""

from __future__ import annotations

import inspect
import json
import keyword
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote

import httpx
import pytest
import respx
from spec_helpers import load_spec

from githubapp import AsyncGitHubClient, GitHubClient
from githubapp.rest import NAMESPACES

BASE = "https://api.example.test"
HOST = "api.example.test"
TOKEN = "ghp_TestToken0123456789secret"
API_VERSION = "2022-11-28"
DEFAULT_ACCEPT = "application/vnd.github+json"
JSON_MEDIA = re.compile(r"^application/(?:[\w.-]+\+)?json$")
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
RAW_BODY = b"raw \x00 payload \xff"
DRIFT_OK = pytest.mark.filterwarnings("ignore::githubapp.errors.SpecDriftWarning")
MISSING: Any = object()

pytestmark = pytest.mark.usefixtures("reuse_ssl_context")


# -- reading the spec --------------------------------------------------------------------------
def spec() -> dict[str, Any]:
    """The pinned REST description, with ``spec/patches.json`` applied (as the generator sees it)."""
    return load_spec("rest")


def resolve(node: Any) -> Any:
    """Follow local ``$ref`` pointers."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def first_variant(schema: Any) -> dict[str, Any]:
    """The first listed alternative of a ``oneOf``/``anyOf``/``allOf`` schema (else the schema)."""
    schema = resolve(schema)
    for key in ("oneOf", "anyOf", "allOf"):
        if schema.get(key):
            return first_variant(schema[key][0])
    return dict(schema)


def iter_operations() -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(path template, HTTP method, operation, path item) for every operation in the spec."""
    for template, item in spec()["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield template, method, item[method], item


def parameters(op: dict[str, Any], item: dict[str, Any]) -> list[dict[str, Any]]:
    return [resolve(p) for p in item.get("parameters", []) + op.get("parameters", [])]


def snake_name(wire: str) -> str:
    """Our own reading of the naming rule: ``enterprise-team`` -> ``enterprise_team``; keywords get ``_``."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", wire)
    name = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").lower()
    return name + "_" if keyword.iskeyword(name) else name


def plain_json_body(op: dict[str, Any]) -> dict[str, Any] | None:
    """The schema of an ``application/json`` object body with plain ``properties`` (no unions)."""
    body = resolve(op.get("requestBody"))
    if not body:
        return None
    media = body["content"].get("application/json")
    if media is None:
        return None
    schema = resolve(media.get("schema", {}))
    if not schema.get("properties") or any(k in schema for k in ("oneOf", "anyOf", "allOf")):
        return None
    return dict(schema)


def success_codes(op: dict[str, Any]) -> list[str]:
    return sorted(code for code in op["responses"] if code.startswith("2"))


def example_of(media: dict[str, Any]) -> Any:
    """The first example given for a media type (``example`` or ``examples``), else ``MISSING``."""
    if "example" in media:
        return media["example"]
    for example in (media.get("examples") or {}).values():
        example = resolve(example)
        if "value" in example:
            value = example["value"]
            if isinstance(value, dict) and str(value.get("$ref", "")).startswith("#/components/examples/"):
                value = resolve(value)["value"]  # {"value": {"$ref": example}} -> that example's value
            return value
    return MISSING


# -- a request case computed from the spec -----------------------------------------------------
@dataclass
class Case:
    """One call and everything the request and result must look like, derived from the spec."""

    operation_id: str
    namespace: str
    method: str
    http_method: str
    template: str
    args: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    query: dict[str, list[str]] = field(default_factory=dict)
    body: Any = MISSING
    body_media: str | None = None
    accept: str = DEFAULT_ACCEPT
    status: int = 200
    response_json: Any = MISSING
    response_media: str | None = None
    expect: str = "json"  # "json" | "bytes" | "none"
    label: str = ""

    def response(self) -> httpx.Response:
        if self.expect == "none":
            return httpx.Response(self.status)
        if self.expect == "bytes":
            return httpx.Response(self.status, content=RAW_BODY, headers={"Content-Type": self.response_media or ""})
        return httpx.Response(self.status, json=self.response_json)


def path_value(wire: str, schema: Any, index: int) -> Any:
    if first_variant(schema).get("type") == "integer":
        return 40 + index
    return f"{wire} {index}/x?y#z%&é"


def query_value(param: dict[str, Any], index: int) -> tuple[Any, list[str]]:
    """(Python value, expected wire values) for a query parameter."""
    wire = param["name"]
    schema = first_variant(param.get("schema", {}))
    kind = schema.get("type")
    if schema.get("enum"):
        return schema["enum"][0], [str(schema["enum"][0])]
    if kind == "boolean":
        flag = index % 2 == 0
        return flag, ["true" if flag else "false"]
    if kind == "integer":
        return 5 + index, [str(5 + index)]
    if kind == "number":
        return 2.5, ["2.5"]
    if kind == "array":
        items = first_variant(schema.get("items", {}))
        values: list[Any]
        if items.get("enum"):
            values = list(items["enum"][:2])
        elif items.get("type") == "integer":
            values = [11, 12]
        else:
            values = [f"{wire} a/b", "c,d&e"]
        texts = [str(v) for v in values]
        return values, ([",".join(texts)] if param.get("explode") is False else texts)
    if schema.get("format") == "date-time":
        return datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC), ["2024-02-03T04:05:06Z"]
    text = f"{wire} q/&=,?é"
    return text, [text]


def body_value(wire: str, schema: Any, index: int) -> Any:
    schema = first_variant(schema)
    kind = schema.get("type")
    if schema.get("enum"):
        return schema["enum"][0]
    if kind == "integer":
        return 7 + index
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return index % 2 == 0
    if kind == "array":
        return [body_value(wire, schema.get("items", {}), index)]
    if kind == "object":
        return {"key": f"{wire} value"}
    return f"{wire} text é/?"


def build_case(template: str, method: str, op: dict[str, Any], item: dict[str, Any], *, every: bool = False) -> Case:
    """Synthesize arguments for ``op`` and compute the request they must produce.

    Required parameters are always passed; optional ones every other one (all with ``every=True``),
    so the rest must be absent from the request.
    """
    prefix, _, name = op["operationId"].partition("/")
    case = Case(op["operationId"], snake_name(prefix), snake_name(name), method.upper(), template)
    params = parameters(op, item)
    taken: set[str] = set()
    path = template
    for index, wire in enumerate(re.findall(r"{([^}]+)}", template)):
        param = next(p for p in params if p["in"] == "path" and p["name"] == wire)
        value = path_value(wire, param.get("schema", {}), index)
        case.args[snake_name(wire)] = value
        taken.add(snake_name(wire))
        path = path.replace("{" + wire + "}", quote(str(value), safe=""))
    case.path = path
    query = [p for p in params if p["in"] == "query"]
    optional = 0
    for index, param in enumerate(query):
        py = snake_name(param["name"])
        py = f"query_{py}" if py in taken or py == "data" else py
        taken.add(py)
        if not param.get("required"):
            optional += 1
            if optional % 2 == 0 and not every:
                continue  # every other optional parameter stays unset: it must not be sent
        value, wire_values = query_value(param, index)
        case.args[py] = value
        case.query.setdefault(param["name"], []).extend(wire_values)
    schema = plain_json_body(op)
    if schema is not None:
        case.body, case.body_media = {}, "application/json"
        required = set(schema.get("required", []))
        sent_null = False
        for index, (wire, sub) in enumerate(schema["properties"].items()):
            py = snake_name(wire)
            py = f"body_{py}" if py in taken or py == "data" else py
            taken.add(py)
            nullable = bool(resolve(sub).get("nullable"))
            if wire not in required and index % 2 == 1 and not every and not (nullable and not sent_null):
                continue  # left UNSET: must be omitted from the body
            if wire not in required and nullable and not sent_null:
                value, sent_null = None, True  # None is sent as JSON null
            else:
                value = body_value(wire, sub, index)
            case.args[py] = value
            case.body[wire] = value
    codes = success_codes(op)
    media_seen = [m for code in codes for m in resolve(op["responses"][code]).get("content", {})]
    if media_seen and not any(JSON_MEDIA.match(m) for m in media_seen):
        case.accept = media_seen[0]
    case.status = int(codes[0])
    content = resolve(op["responses"][codes[0]]).get("content", {})
    json_media = [m for m in content if JSON_MEDIA.match(m)]
    if json_media:
        example = example_of(content[json_media[0]])
        if example is MISSING:
            example = [] if resolve(content[json_media[0]].get("schema", {})).get("type") == "array" else {}
        case.response_json = example
    elif content:
        case.expect, case.response_media = "bytes", next(iter(content))
    else:
        case.expect = "none"
    return case


def sample_operations() -> list[Case]:
    """Per namespace: first op with query params, first with a JSON body, the one with most path params."""
    by_namespace: dict[str, list[tuple[str, str, dict[str, Any], dict[str, Any]]]] = {}
    for template, method, op, item in iter_operations():
        if success_codes(op):
            by_namespace.setdefault(op["operationId"].split("/")[0], []).append((template, method, op, item))
    chosen: dict[str, Case] = {}
    for ops in by_namespace.values():
        ops.sort(key=lambda entry: entry[2]["operationId"])
        picks = [
            next((e for e in ops if any(p["in"] == "query" for p in parameters(e[2], e[3]))), None),
            next((e for e in ops if plain_json_body(e[2]) is not None), None),
            max(ops, key=lambda e: len(re.findall(r"{[^}]+}", e[0]))),
        ]
        for entry in picks:
            if entry is not None and entry[2]["operationId"] not in chosen:
                chosen[entry[2]["operationId"]] = build_case(*entry)
    for template, method, op, item in iter_operations():  # every array query parameter, all passed
        if any(
            p["in"] == "query" and first_variant(p.get("schema", {})).get("type") == "array"
            for p in parameters(op, item)
        ):
            case = build_case(template, method, op, item, every=True)
            case.label = case.operation_id + " (all params)"
            chosen[case.label] = case
    return sorted(chosen.values(), key=lambda c: c.label or c.operation_id)


def find_operation(operation_id: str) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    for entry in iter_operations():
        if entry[2]["operationId"] == operation_id:
            return entry
    raise LookupError(operation_id)


def case_for(operation_id: str) -> Case:
    return build_case(*find_operation(operation_id))


SAMPLE = sample_operations()
SYNC_SAMPLE = [c for c in SAMPLE if c.namespace in ("issues", "repos", "pulls", "markdown", "gists", "users")][::2]


# -- checks ------------------------------------------------------------------------------------
def check_signature(gh: Any, case: Case) -> Any:
    """The generated method for ``case``; fails clearly if our synthesized names are not its parameters."""
    namespace = getattr(gh, case.namespace)
    method = getattr(namespace, case.method)
    accepted = set(inspect.signature(method).parameters)
    unknown = sorted(set(case.args) - accepted)
    assert not unknown, f"{case.operation_id}: spec parameters {unknown} are not in the signature {sorted(accepted)}"
    return method


def query_of(request: httpx.Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in parse_qsl(request.url.query.decode("ascii"), keep_blank_values=True):
        out.setdefault(key, []).append(value)
    return out


def check_request(case: Case, request: httpx.Request, *, origin: str = BASE) -> None:
    """Method, raw path, query, body and headers of ``request`` against ``case``."""
    where = case.operation_id
    assert request.method == case.http_method, where
    assert f"{request.url.scheme}://{request.url.netloc.decode()}" == origin, where
    assert request.url.raw_path.decode("ascii").split("?")[0] == urlparse_prefix(origin) + case.path, where
    assert query_of(request) == case.query, where
    if case.body is MISSING:
        assert request.content == b"", where
    else:
        assert request.headers.get("content-type") == case.body_media, where
        assert json.loads(request.content) == case.body, where
    assert request.headers["authorization"] == f"Bearer {TOKEN}", where
    assert request.headers["accept"] == case.accept, where
    assert request.headers["x-github-api-version"] == API_VERSION, where
    assert request.headers.get("user-agent"), where


def urlparse_prefix(origin: str) -> str:
    """The path part of a base URL (``https://ghe.example/api/v3`` -> ``/api/v3``)."""
    return httpx.URL(origin).raw_path.decode().rstrip("/")


def check_result(case: Case, result: Any) -> None:
    if case.expect == "none":
        assert result is None, case.operation_id
    elif case.expect == "bytes":
        assert result == RAW_BODY, case.operation_id
    elif isinstance(case.response_json, list):
        assert isinstance(result, list) and len(result) == len(case.response_json), case.operation_id
    elif case.response_json is not None:
        assert result is not None and not isinstance(result, list), case.operation_id


# -- the sample --------------------------------------------------------------------------------
def test_sample_covers_every_namespace() -> None:
    """Every namespace of the spec is sampled, and the client exposes exactly those namespaces."""
    in_spec = {snake_name(op["operationId"].split("/")[0]) for _, _, op, _ in iter_operations()}
    assert in_spec == set(NAMESPACES)
    assert {c.namespace for c in SAMPLE} == in_spec
    assert len(in_spec) == 49
    # the sample exercises the interesting shapes
    assert any(c.query for c in SAMPLE)
    assert any(isinstance(c.body, dict) and None in c.body.values() for c in SAMPLE)
    assert any(c.expect == "none" for c in SAMPLE)
    assert any(len(re.findall("{", c.template)) >= 4 for c in SAMPLE)


@DRIFT_OK
@pytest.mark.anyio
@pytest.mark.parametrize("case", SAMPLE, ids=lambda c: c.label or c.operation_id)
async def test_sampled_operation_async(case: Case) -> None:
    """The async client builds the request the spec describes and decodes a declared 2xx."""
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        route = router.route(method=case.http_method, host=HOST).mock(return_value=case.response())
        async with AsyncGitHubClient(token=TOKEN, base_url=BASE) as gh:
            method = check_signature(gh, case)
            result = await method(**case.args)
    assert route.call_count == 1
    check_request(case, route.calls.last.request)
    check_result(case, result)


@DRIFT_OK
@pytest.mark.parametrize("case", SYNC_SAMPLE, ids=lambda c: c.label or c.operation_id)
def test_sampled_operation_sync(case: Case) -> None:
    """The blocking client sends the very same request."""
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        route = router.route(method=case.http_method, host=HOST).mock(return_value=case.response())
        with GitHubClient(token=TOKEN, base_url=BASE) as gh:
            method = check_signature(gh, case)
            result = method(**case.args)
    assert route.call_count == 1
    check_request(case, route.calls.last.request)
    check_result(case, result)


def test_sync_sample_is_not_empty() -> None:
    assert len(SYNC_SAMPLE) >= 5


# -- hand-written cases ------------------------------------------------------------------------
def issue_example() -> dict[str, Any]:
    """The spec's example of an issue (``issues/get`` 200)."""
    case = case_for("issues/get")
    assert isinstance(case.response_json, dict)
    return dict(case.response_json)


@pytest.mark.anyio
async def test_issues_create_body() -> None:
    """Body fields as passed, labels list kept, ``milestone=None`` -> null, unset fields omitted."""
    with respx.mock(assert_all_mocked=True) as router:
        route = router.post(f"{BASE}/repos/octo%20cat/hello/issues").respond(201, json=issue_example())
        async with AsyncGitHubClient(token=TOKEN, base_url=BASE) as gh:
            issue = await gh.issues.create(
                "octo cat", "hello", title="Bug", body="Steps", labels=["bug", "ui"], milestone=None
            )
    from githubapp.models.issue import Issue

    assert isinstance(issue, Issue)
    request = route.calls.last.request
    assert json.loads(request.content) == {"title": "Bug", "body": "Steps", "labels": ["bug", "ui"], "milestone": None}
    assert request.headers["content-type"] == "application/json"


@pytest.mark.anyio
async def test_issues_get_encodes_slash_and_space() -> None:
    """Positional path params; ``/`` and spaces in a value never change the path's shape."""
    with respx.mock(assert_all_mocked=True) as router:
        route = router.get(host=HOST).respond(200, json=issue_example())
        async with AsyncGitHubClient(token=TOKEN, base_url=BASE) as gh:
            await gh.issues.get("a/b c", "r?x#y", 7)
    assert route.calls.last.request.url.raw_path == b"/repos/a%2Fb%20c/r%3Fx%23y/issues/7"


@pytest.mark.anyio
async def test_issues_list_for_repo_query() -> None:
    """Enum, comma-separated labels, datetime as ISO 8601 ``Z``, int; unset params absent."""
    with respx.mock(assert_all_mocked=True) as router:
        route = router.get(f"{BASE}/repos/o/r/issues").respond(200, json=[issue_example()])
        async with AsyncGitHubClient(token=TOKEN, base_url=BASE) as gh:
            issues = await gh.issues.list_for_repo(
                "o", "r", state="closed", labels="bug,ui", since=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC), per_page=50
            )
    assert len(issues) == 1 and issues[0].number == issue_example()["number"]
    assert query_of(route.calls.last.request) == {
        "state": ["closed"],
        "labels": ["bug,ui"],
        "since": ["2024-05-06T07:08:09Z"],
        "per_page": ["50"],
    }


@DRIFT_OK
@pytest.mark.anyio
async def test_repos_get_content_path_with_slashes() -> None:
    with respx.mock(assert_all_mocked=True) as router:
        route = router.get(host=HOST).respond(200, json=[])
        async with AsyncGitHubClient(token=TOKEN, base_url=BASE) as gh:
            await gh.repos.get_content("o", "r", "docs/a b/README.md", ref="main")
    request = route.calls.last.request
    assert (
        request.url.raw_path == b"/repos/o/r/contents/" + quote("docs/a b/README.md", safe="").encode() + b"?ref=main"
    )


@pytest.mark.anyio
async def test_markdown_render_raw_text_body() -> None:
    """A ``data=`` text body goes out as is, with the spec's ``text/plain`` content type; HTML comes back as bytes."""
    with respx.mock(assert_all_mocked=True) as router:
        route = router.post(f"{BASE}/markdown/raw").respond(
            200, content=b"<h1>Hi</h1>", headers={"Content-Type": "text/html"}
        )
        async with AsyncGitHubClient(token=TOKEN, base_url=BASE) as gh:
            html = await gh.markdown.render_raw(data="# Hi é")
    assert html == b"<h1>Hi</h1>"
    request = route.calls.last.request
    assert request.content == "# Hi é".encode()
    assert request.headers["content-type"] == "text/plain"
    assert request.headers["accept"] == "text/html"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("base_url", "origin"),
    [
        (None, "https://uploads.github.com"),
        ("https://api.github.com", "https://uploads.github.com"),
        ("https://ghe.example/api/v3", "https://ghe.example/api/uploads"),
    ],
)
async def test_upload_release_asset_host(base_url: str | None, origin: str) -> None:
    """Uploads go to uploads.github.com, or to ``{host}/api/uploads`` on GitHub Enterprise Server."""
    asset = case_for("repos/upload-release-asset").response_json
    with respx.mock(assert_all_mocked=True) as router:
        route = router.post(f"{origin}/repos/o/r/releases/5/assets").respond(201, json=asset)
        async with AsyncGitHubClient(token=TOKEN, base_url=base_url) as gh:
            await gh.repos.upload_release_asset("o", "r", 5, name="a b.zip", label="L", data=b"PK\x03\x04")
    request = route.calls.last.request
    assert query_of(request) == {"name": ["a b.zip"], "label": ["L"]}
    assert request.content == b"PK\x03\x04"
    assert request.headers["content-type"] == "application/octet-stream"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("operation_id", "call"),
    [
        ("meta/get-octocat", lambda gh: gh.meta.get_octocat(s="hi")),
        ("meta/get-zen", lambda gh: gh.meta.get_zen()),
        ("markdown/render", lambda gh: gh.markdown.render(text="**x**")),
    ],
)
async def test_non_json_media_returns_bytes(operation_id: str, call: Any) -> None:
    """Operations whose 2xx is not JSON ask for that media and return the raw bytes."""
    case = case_for(operation_id)
    assert case.expect == "bytes"
    with respx.mock(assert_all_mocked=True) as router:
        route = router.route(host=HOST).respond(
            200, content=RAW_BODY, headers={"Content-Type": case.response_media or ""}
        )
        async with AsyncGitHubClient(token=TOKEN, base_url=BASE) as gh:
            assert await call(gh) == RAW_BODY
    assert route.calls.last.request.headers["accept"] == case.accept


@pytest.mark.anyio
async def test_download_tarball_follows_redirect_and_returns_bytes() -> None:
    """``repos/download-tarball-archive`` answers 302 to codeload; the caller must get the archive bytes.

    The redirect target is another origin: the token must not follow it.
    """
    with respx.mock(assert_all_mocked=True) as router:
        router.get(f"{BASE}/repos/o/r/tarball/main").respond(
            302, headers={"Location": "https://codeload.example.test/o/r/tar.gz/main"}
        )
        archive = router.get("https://codeload.example.test/o/r/tar.gz/main").respond(
            200, content=b"\x1f\x8barchive", headers={"Content-Type": "application/x-gzip"}
        )
        async with AsyncGitHubClient(token=TOKEN, base_url=BASE) as gh:
            result = await gh.repos.download_tarball_archive("o", "r", "main")
    assert "authorization" not in archive.calls.last.request.headers
    assert result == b"\x1f\x8barchive"


@pytest.mark.anyio
async def test_204_returns_none() -> None:
    case = case_for("activity/star-repo-for-authenticated-user")
    assert case.expect == "none" and case.status == 204
    with respx.mock(assert_all_mocked=True) as router:
        route = router.put(f"{BASE}/user/starred/o/r").respond(204)
        async with AsyncGitHubClient(token=TOKEN, base_url=BASE) as gh:
            assert await gh.activity.star_repo_for_authenticated_user("o", "r") is None
    assert route.calls.last.request.content == b""


@pytest.mark.anyio
async def test_oneof_integer_or_string_path_param_accepts_both() -> None:
    """``workflow_id`` is ``oneOf: [integer, string]`` in the spec: both an id and a file name work."""
    with respx.mock(assert_all_mocked=True) as router:
        route = router.get(host=HOST).respond(200, json=case_for("actions/get-workflow").response_json)
        async with AsyncGitHubClient(token=TOKEN, base_url=BASE) as gh:
            await gh.actions.get_workflow("o", "r", "main.yml")
            await gh.actions.get_workflow("o", "r", 161335)
    paths = [call.request.url.raw_path for call in route.calls]
    assert paths == [b"/repos/o/r/actions/workflows/main.yml", b"/repos/o/r/actions/workflows/161335"]


@pytest.mark.anyio
@pytest.mark.parametrize("value", [".", ".."])
async def test_dot_segments_are_not_resolved(value: str) -> None:
    """A path value of ``.`` or ``..`` must not walk up to another endpoint.

    Either it stays one (encoded) segment, or it is refused before any request with a clear error.
    """
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        route = router.get(host=HOST).respond(200, json=[])
        async with AsyncGitHubClient(token=TOKEN, base_url=BASE) as gh:
            try:
                await gh.repos.get_content("o", "r", value)
            except ValueError as exc:
                assert "path" in str(exc) and not route.called
                return
    raw = route.calls.last.request.url.raw_path.decode()
    assert raw.startswith("/repos/o/r/contents/") and raw.count("/") == 5, raw


@DRIFT_OK
def test_sync_client_hand_written() -> None:
    """The blocking client: path encoding, query, JSON body, bytes and 204."""
    with respx.mock(assert_all_mocked=True) as router:
        get = router.get(f"{BASE}/repos/a%2Fb/r/issues/3").respond(200, json=issue_example())
        create = router.post(f"{BASE}/repos/o/r/issues").respond(201, json=issue_example())
        listing = router.get(f"{BASE}/repos/o/r/issues").respond(200, json=[])
        zen = router.get(f"{BASE}/zen").respond(200, content=b"Keep it simple.", headers={"Content-Type": "text/plain"})
        star = router.put(f"{BASE}/user/starred/o/r").respond(204)
        with GitHubClient(token=TOKEN, base_url=BASE) as gh:
            assert gh.issues.get("a/b", "r", 3).number == issue_example()["number"]
            gh.issues.create("o", "r", title="T", milestone=None)
            assert gh.issues.list_for_repo("o", "r", state="all", per_page=2) == []
            assert gh.meta.get_zen() == b"Keep it simple."
            assert gh.activity.star_repo_for_authenticated_user("o", "r") is None
    assert get.called and star.called
    assert json.loads(create.calls.last.request.content) == {"title": "T", "milestone": None}
    assert query_of(listing.calls.last.request) == {"state": ["all"], "per_page": ["2"]}
    assert zen.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"


def constrained_object_bodies() -> list[str]:
    """Ops whose JSON body is an object with ``properties`` plus ``anyOf``/``oneOf`` of ``required`` lists only.

    Such a body is still an object: DESIGN.md says only non-object bodies become ``data=``.
    """
    found = []
    for _, _, op, _ in iter_operations():
        body = resolve(op.get("requestBody"))
        media = (body or {}).get("content", {}).get("application/json")
        schema = resolve(media.get("schema", {})) if media else {}
        variants = schema.get("anyOf") or schema.get("oneOf") or []
        if schema.get("properties") and variants and all(set(resolve(v)) <= {"required"} for v in variants):
            found.append(op["operationId"])
    return sorted(found)


@DRIFT_OK
@pytest.mark.anyio
@pytest.mark.parametrize("operation_id", constrained_object_bodies())
async def test_object_body_with_required_alternatives_takes_fields(operation_id: str) -> None:
    """e.g. ``gh.code_scanning.update_alert(o, r, 1, state="dismissed")`` sends ``{"state": "dismissed"}``.

    Passed: the body's required fields and those of its first satisfiable alternative.
    """
    case = case_for(operation_id)
    schema = plain_json_body_any(operation_id)
    props = schema["properties"]
    variants = schema.get("anyOf") or schema.get("oneOf")
    alternative = next(v["required"] for v in variants if set(v["required"]) <= set(props))
    wires = [w for w in props if w in set(schema.get("required", [])) | set(alternative)]
    body = {wire: body_value(wire, props[wire], i) for i, wire in enumerate(wires)}
    _, _, op, item = find_operation(operation_id)
    taken = {snake_name(p["name"]) for p in parameters(op, item) if p["in"] in ("path", "query")}
    py = {w: f"body_{snake_name(w)}" if snake_name(w) in taken or w == "data" else snake_name(w) for w in wires}
    args = dict(case.args)  # path and query parameters only: the body is not a plain one
    assert case.body is MISSING
    with respx.mock(assert_all_mocked=True) as router:
        route = router.route(method=case.http_method, host=HOST).mock(return_value=case.response())
        async with AsyncGitHubClient(token=TOKEN, base_url=BASE) as gh:
            method = getattr(getattr(gh, case.namespace), case.method)
            accepted = inspect.signature(method).parameters
            missing = [w for w in wires if py[w] not in accepted]
            assert not missing, f"{operation_id}: no keyword for body field(s) {missing}; signature {list(accepted)}"
            await method(**args, **{py[w]: v for w, v in body.items()})
    assert json.loads(route.calls.last.request.content) == body


def plain_json_body_any(operation_id: str) -> dict[str, Any]:
    _, _, op, _ = find_operation(operation_id)
    return dict(resolve(resolve(op["requestBody"])["content"]["application/json"]["schema"]))


def test_constrained_object_bodies_found() -> None:
    ids = constrained_object_bodies()
    assert "code-scanning/update-alert" in ids and len(ids) >= 5


@pytest.mark.anyio
async def test_json_data_body() -> None:
    """A JSON body without fixed properties is ``data=``, sent as JSON exactly."""
    payload = {"octo/repo": ["/src/secret.txt", "*.key"], "x": None}
    with respx.mock(assert_all_mocked=True) as router:
        route = router.put(f"{BASE}/orgs/my%20org/copilot/content_exclusion").respond(200, json={"message": "ok"})
        async with AsyncGitHubClient(token=TOKEN, base_url=BASE) as gh:
            await gh.copilot.set_copilot_content_exclusion_for_organization("my org", data=payload)
    request = route.calls.last.request
    assert json.loads(request.content) == payload
    assert request.headers["content-type"] == "application/json"
