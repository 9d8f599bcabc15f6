"""Model generation: cleaned schemas -> datamodel-code-generator -> one importable module per model group.

datamodel-code-generator writes one large module. We split it so that every model can be imported
on its own: classes are grouped by the component schema they come from (nested inline objects stay
with their parent), groups that reference each other in a cycle are merged (strongly connected
components), and each group becomes a module that imports exactly the groups it uses.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .names import safe_identifier, snake

BASE_CLASS = "githubapp._model.GitHubModel"
#: the ``Annotated`` marker put around field unions of two or more models (see githubapp/_unions.py)
BEST_FIT_IMPORT = "from githubapp._unions import BestFit"

DATAMODEL_ARGS = [
    "--input-file-type", "openapi",
    "--output-model-type", "pydantic_v2.BaseModel",
    "--target-python-version", "3.11",
    "--output-datetime-class", "datetime",
    "--use-annotated",
    "--use-standard-collections",
    "--use-union-operator",
    "--strict-nullable",
    "--collapse-root-models",
    "--enum-field-as-literal", "all",
    "--naming-strategy", "parent-prefixed",
    "--use-schema-description",
    "--use-field-description",
    "--disable-timestamp",
    "--formatters", "builtin",
    "--base-class", BASE_CLASS,
    "--aliases", json.dumps({"+1": "plus_one", "-1": "minus_one", "_links": "links"}),
]


@dataclass
class ModelLayout:
    """Where every generated class lives."""

    modules: dict[str, str] = field(default_factory=dict)  # module name -> source (without header)
    index: dict[str, str] = field(default_factory=dict)  # class name -> module name
    by_component: dict[str, str] = field(default_factory=dict)  # component key -> class name
    root_models: set[str] = field(default_factory=set)  # classes that are pydantic RootModels


def start_datamodel(schemas: dict[str, Any], openapi_version: str, workdir: Path, name: str) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """Start datamodel-codegen on ``schemas`` in the background; :func:`finish_datamodel` collects it."""
    doc = {"openapi": openapi_version, "info": {"title": name, "version": "0"}, "paths": {}, "components": {"schemas": schemas}}
    source = workdir / f"{name}.json"
    source.write_text(json.dumps(doc))
    output = workdir / f"{name}_models.py"
    metadata = workdir / f"{name}_metadata.json"
    cmd = [sys.executable, "-m", "datamodel_code_generator", "--input", str(source), "--output", str(output),
           "--emit-model-metadata", str(metadata), *DATAMODEL_ARGS]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return proc, output, metadata


def finish_datamodel(proc: subprocess.Popen[bytes], output: Path, metadata: Path) -> tuple[str, dict[str, Any]]:
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"datamodel-codegen failed ({proc.returncode}):\n{err.decode(errors='replace')[-4000:]}")
    return output.read_text(), json.loads(metadata.read_text())


def split(source: str, metadata: dict[str, Any]) -> ModelLayout:
    """Split datamodel-codegen's single module into per-group modules (see module docstring)."""
    tree = ast.parse(source)
    lines = source_lines(source)

    imports: dict[str, str] = {}  # imported name -> import line
    classes: dict[str, str] = {}  # class name -> source, in source order
    root_models: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                local = alias.asname or alias.name
                as_part = f" as {alias.asname}" if alias.asname else ""
                imports[local] = f"from {node.module} import {alias.name}{as_part}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                imports[alias.asname or alias.name] = f"import {alias.name}"
        elif isinstance(node, ast.ClassDef):
            classes[node.name] = "".join(lines[node.lineno - 1 : node.end_lineno])
            if any(isinstance(b, ast.Subscript) and getattr(b.value, "id", "") == "RootModel" for b in node.bases):
                root_models.add(node.name)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            continue  # Model.model_rebuild(): pydantic resolves forward refs itself (defer_build)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        else:
            raise SystemExit(f"unexpected statement in generated models at line {node.lineno}: {ast.dump(node)[:200]}")

    plain_models = set(classes) - root_models
    for name in classes:
        classes[name] = mark_best_fit_unions(classes[name], plain_models)
    imports.setdefault("BestFit", BEST_FIT_IMPORT)
    imports.setdefault("Annotated", "from typing import Annotated")

    class_component: dict[str, str] = {}
    by_component: dict[str, str] = {}
    for model in metadata["models"]:
        path = model.get("source_path") or []
        if model["class_name"] not in classes:
            continue
        key = path[2] if len(path) >= 3 and path[:2] == ["components", "schemas"] else model["class_name"]
        class_component.setdefault(model["class_name"], key)
        if len(path) == 3 and path[:2] == ["components", "schemas"]:
            by_component[key] = model["class_name"]
    for name in classes:
        class_component.setdefault(name, name)

    uses: dict[str, set[str]] = {}
    for name, text in classes.items():
        names = {n.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name)}
        uses[name] = names

    # component graph and its strongly connected components
    members: dict[str, list[str]] = defaultdict(list)
    for name in classes:
        members[class_component[name]].append(name)
    edges: dict[str, set[str]] = {c: set() for c in members}
    for name, used in uses.items():
        for other in used:
            if other in classes and class_component[other] != class_component[name]:
                edges[class_component[name]].add(class_component[other])
    groups = strongly_connected(list(members), edges)

    layout = ModelLayout(by_component=by_component, root_models=root_models)
    group_of: dict[str, int] = {}
    module_names: list[str] = []
    taken: set[str] = set()
    for number, group in enumerate(groups):
        first = min(group, key=lambda c: list(members).index(c))
        primary = by_component.get(first) or members[first][0]
        module = safe_identifier(snake(primary))
        while module in taken:
            module += "_"
        taken.add(module)
        module_names.append(module)
        for component in group:
            group_of[component] = number
            for name in members[component]:
                layout.index[name] = module

    for number in range(len(groups)):
        module = module_names[number]
        names = [n for n in classes if group_of[class_component[n]] == number]
        used = set().union(*(uses[n] for n in names))
        local_imports = sorted({imports[n] for n in used if n in imports})
        foreign: dict[str, list[str]] = defaultdict(list)
        for other in sorted(used):
            if other in classes and other not in names:
                foreign[layout.index[other]].append(other)
        out = [line + "\n" for line in local_imports]
        for dep in sorted(foreign):
            out.append(f"from .{dep} import {', '.join(sorted(foreign[dep]))}\n")
        defined: set[str] = set()
        local = set(names)
        for name in dependency_order(names, uses):
            ahead = local - defined - {name} | ({name} & uses[name])
            out.append("\n\n" + quote_forward_refs(classes[name], ahead))
            defined.add(name)
        layout.modules[module] = "".join(out)
    return layout


def dependency_order(names: list[str], uses: dict[str, set[str]]) -> list[str]:
    """``names`` with every class after the classes of ``names`` it uses (source order otherwise).

    Modules are written without ``from __future__ import annotations``: annotations are evaluated
    when the class is created, so pydantic reads real types instead of evaluating strings. Classes
    in a cycle cannot all come after each other; :func:`quote_forward_refs` quotes what remains.
    """
    local = set(names)
    done: set[str] = set()
    visiting: set[str] = set()
    order: list[str] = []

    def visit(name: str) -> None:
        if name in done or name in visiting:
            return
        visiting.add(name)
        for dep in sorted(uses[name] & local, key=names.index):
            visit(dep)
        visiting.discard(name)
        done.add(name)
        order.append(name)

    for name in names:
        visit(name)
    return order


def quote_forward_refs(source: str, ahead: set[str]) -> str:
    """Quote the field annotations of a class ``source`` that name a class of ``ahead`` (not defined yet)."""
    if not ahead:
        return source
    tree = ast.parse(source)
    cls = tree.body[0]
    assert isinstance(cls, ast.ClassDef)
    for base in cls.bases:
        if any(isinstance(n, ast.Name) and n.id in ahead for n in ast.walk(base)):
            raise SystemExit(f"{cls.name}: a base class names a class defined later: {ast.unparse(base)}")
    starts = line_starts(source)
    edits: list[tuple[int, int, str]] = []
    for node in cls.body:
        if not isinstance(node, ast.AnnAssign):
            continue
        ann = node.annotation
        if not any(isinstance(n, ast.Name) and n.id in ahead for n in ast.walk(ann)):
            continue
        edits.append((*span(starts, ann), repr(ast.unparse(ann))))
    return apply_edits(source, edits)


def source_lines(source: str) -> list[str]:
    """``source``'s lines as :mod:`ast` numbers them: split at ``\\n``, ``\\r\\n`` and ``\\r`` only
    (``str.splitlines`` also splits at form feeds, ``\\x85``, ``\\u2028``, ... that a description may hold)."""
    return [line.decode() for line in source.encode().splitlines(keepends=True)]


def line_starts(source: str) -> list[int]:
    """The byte offset of each line's start in ``source.encode()`` (for ``lineno``/``col_offset`` edits)."""
    starts = [0]
    for line in source.encode().splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def span(starts: list[int], node: ast.expr) -> tuple[int, int]:
    """Where ``node`` begins and ends, as byte offsets in the encoded source (see :func:`line_starts`)."""
    assert node.end_lineno is not None and node.end_col_offset is not None
    return starts[node.lineno - 1] + node.col_offset, starts[node.end_lineno - 1] + node.end_col_offset


def apply_edits(source: str, edits: list[tuple[int, int, str]]) -> str:
    """``source`` with each byte range ``(begin, end)`` replaced by its text (``begin == end``: inserted)."""
    data = source.encode()
    for begin, end, text in sorted(edits, reverse=True):
        data = data[:begin] + text.encode() + data[end:]
    return data.decode()


def mark_best_fit_unions(source: str, models: set[str]) -> str:
    """Mark the unions of two or more ``models`` in the field annotations of a class ``source`` ``BestFit``.

    ``A | B | None`` becomes ``Annotated[A | B | None, BestFit]`` and ``Annotated[A | B, Field(...)]``
    becomes ``Annotated[A | B, BestFit, Field(...)]``, wherever the union sits (``list[A | B]``).
    """
    cls = ast.parse(source).body[0]
    assert isinstance(cls, ast.ClassDef)
    starts = line_starts(source)
    inserts: list[tuple[int, int, str]] = []

    def union_members(node: ast.expr) -> list[ast.expr]:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return union_members(node.left) + union_members(node.right)
        return [node]

    def visit(node: ast.expr, in_annotated: bool = False) -> None:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            members = union_members(node)
            if sum(isinstance(m, ast.Name) and m.id in models for m in members) >= 2:
                begin, end = span(starts, node)
                if in_annotated:
                    inserts.append((end, end, ", BestFit"))
                else:
                    inserts.extend([(begin, begin, "Annotated["), (end, end, ", BestFit]")])
            for member in members:
                visit(member)
        elif isinstance(node, ast.Subscript):
            if isinstance(node.value, ast.Name) and node.value.id == "Annotated" and isinstance(node.slice, ast.Tuple):
                visit(node.slice.elts[0], in_annotated=True)  # the rest is metadata (Field(...))
            else:
                visit(node.slice)
        elif isinstance(node, ast.Tuple):
            for elt in node.elts:
                visit(elt)

    for stmt in cls.body:
        if isinstance(stmt, ast.AnnAssign):
            visit(stmt.annotation)
    return apply_edits(source, inserts)


def strongly_connected(nodes: list[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; groups come out dependencies first, deterministically."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop(0)
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(edges[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    item = stack.pop()
                    on_stack.discard(item)
                    group.append(item)
                    if item == node:
                        break
                result.append(sorted(group))
    return result


def generate(jobs: dict[str, tuple[dict[str, Any], str]]) -> dict[str, ModelLayout]:
    """Run datamodel-codegen for every job in parallel: ``{name: (schemas, openapi_version)}``."""
    with tempfile.TemporaryDirectory(prefix="githubapp-codegen-") as tmp:
        started = {name: start_datamodel(schemas, version, Path(tmp), name) for name, (schemas, version) in jobs.items()}
        return {name: split(*finish_datamodel(*run)) for name, run in started.items()}
