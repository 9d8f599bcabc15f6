"""Laziness: ``import githubapp`` loads no generated code, ``gh.issues`` one namespace, a call its models.

Each check runs in a fresh interpreter (``sys.executable -c ...``) and reports ``sys.modules``. The
models a call may load are computed here from the generated modules' own import statements
(transitively), so the expectation follows the generator instead of a hand-written list.
"""

from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from spec_helpers import load_spec, response_examples, webhook_examples

import githubapp

PACKAGE = Path(githubapp.__file__).resolve().parent
GENERATED = ("githubapp.rest.", "githubapp.models.", "githubapp.webhooks.models.")


def run(code: str, *args: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it must print one JSON object as its last line."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


MODULES = """
import sys
def loaded(prefix):
    return sorted(m for m in sys.modules if m.startswith(prefix))
"""


def imported_siblings(path: Path, package: str) -> set[str]:
    """Modules of ``package`` that the module at ``path`` imports (``from .x import Y``)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(f"{package}.{node.module}")
            elif node.level == 1:
                found.update(f"{package}.{alias.name}" for alias in node.names)
            elif node.level == 0 and node.module and node.module.startswith(package + "."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(package + "."))
    return found


@functools.cache
def closure(package: str, start: str) -> frozenset[str]:
    """``start`` and every module of ``package`` it imports, transitively."""
    directory = PACKAGE.joinpath(*package.split(".")[1:])
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = directory / (name.rsplit(".", 1)[1] + ".py")
        assert path.exists(), f"{name} is imported but {path} does not exist"
        todo.extend(imported_siblings(path, package) - seen)
    return frozenset(seen)


def schema_module(ref: str) -> str:
    """``#/components/schemas/full-repository`` -> ``githubapp.models.full_repository``."""
    return "githubapp.models." + ref.rsplit("/", 1)[1].replace("-", "_")


def test_import_githubapp_loads_no_generated_code() -> None:
    data = run(
        MODULES
        + """
import json, githubapp
print(json.dumps({"mods": sorted(sys.modules)}))
"""
    )
    mods = data["mods"]
    assert "githubapp" in mods
    assert not [m for m in mods if m.startswith(GENERATED) or m in ("githubapp.rest", "githubapp.models")]
    assert not [m for m in mods if m.split(".")[0] in ("httpx", "pydantic", "pydantic_core")]


def test_namespace_attribute_loads_that_namespace_only() -> None:
    data = run(
        MODULES
        + """
import json
from githubapp import AsyncGitHubClient
gh = AsyncGitHubClient(token="t", base_url="https://api.example.test")
before = loaded("githubapp.rest.")
gh.issues
after = loaded("githubapp.rest.")
gh.issues
print(json.dumps({"before": before, "after": after, "models": loaded("githubapp.models")}))
"""
    )
    assert data["before"] == []
    assert data["after"] == ["githubapp.rest.issues"]
    assert data["models"] == []


def issues_get_example() -> Any:
    return next(ex.value for ex in response_examples() if ex.operation and ex.operation.operation_id == "issues/get")


def test_typed_call_loads_only_the_models_it_returns(tmp_path: Path) -> None:
    spec = load_spec("rest")
    ref = spec["paths"]["/repos/{owner}/{repo}/issues/{issue_number}"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]["$ref"]
    start = schema_module(ref)
    allowed = closure("githubapp.models", start) | {"githubapp.models"}
    assert "githubapp.models.full_repository" not in allowed  # so the check below means something
    payload = tmp_path / "issue.json"
    payload.write_text(json.dumps(issues_get_example()))
    data = run(
        MODULES
        + """
import asyncio, json, pathlib
import respx
from githubapp import AsyncGitHubClient

async def main():
    body = json.loads(pathlib.Path(sys.argv[1]).read_text())
    with respx.mock(assert_all_mocked=True) as router:
        router.get("https://api.example.test/repos/o/r/issues/7").respond(200, json=body)
        async with AsyncGitHubClient(token="t", base_url="https://api.example.test") as gh:
            issue = await gh.issues.get("o", "r", 7)
    return type(issue).__module__, issue.title

module, title = asyncio.run(main())
print(json.dumps({"module": module, "title": title, "models": loaded("githubapp.models"),
                  "rest": loaded("githubapp.rest."), "webhooks": loaded("githubapp.webhooks")}))
""",
        str(payload),
    )
    assert data["module"] == start
    assert data["title"] == issues_get_example()["title"]
    loaded = set(data["models"])
    assert start in loaded
    assert loaded <= allowed, sorted(loaded - allowed)
    assert data["rest"] == ["githubapp.rest.issues"]
    assert data["webhooks"] == []


def test_webhooks_load_models_on_use(tmp_path: Path) -> None:
    key = "issues.opened"
    events = run(
        MODULES
        + """
import json
from githubapp.webhooks import EVENTS
print(json.dumps({"events": {k: list(v) for k, v in EVENTS.items()}}))
"""
    )["events"]
    _, module = events[key]
    start = f"githubapp.webhooks.models.{module}"
    allowed = closure("githubapp.webhooks.models", start) | {"githubapp.webhooks.models"}
    other = next(
        f"githubapp.webhooks.models.{m}" for _, m in events.values() if f"githubapp.webhooks.models.{m}" not in allowed
    )
    examples = [ex.value for op, ex in webhook_examples() if op.key == key]
    payload = tmp_path / "event.json"
    payload.write_text(json.dumps(examples[0] if examples else {"action": "opened"}))
    data = run(
        MODULES
        + """
import json, pathlib, warnings
warnings.simplefilter("ignore")
import githubapp.webhooks as webhooks
on_import = loaded("githubapp.webhooks.models") + loaded("githubapp.models")
model = webhooks.event_model(sys.argv[1])
event = webhooks.parse_event(sys.argv[1].split(".")[0], pathlib.Path(sys.argv[2]).read_bytes())
print(json.dumps({"on_import": on_import, "model": model.__module__, "event": type(event).__module__,
                  "after": loaded("githubapp.webhooks.models."), "rest_models": loaded("githubapp.models")}))
""",
        key,
        str(payload),
    )
    assert data["on_import"] == []
    assert data["model"] == data["event"] == start
    after = set(data["after"])
    assert start in after and after <= allowed, sorted(after - allowed)
    assert other not in after
    assert data["rest_models"] == []


@pytest.mark.parametrize("package", ["githubapp.models", "githubapp.webhooks.models"])
def test_closure_reader_sees_imports(package: str) -> None:
    """The import reader used above finds real dependencies (so an empty closure is not vacuous)."""
    start = (
        "githubapp.models.issue" if package == "githubapp.models" else "githubapp.webhooks.models.webhook_issues_opened"
    )
    deps = closure(package, start)
    assert start in deps and len(deps) > 3
