"""``python -m codegen [--check] [--out DIR]``: regenerate (or verify) the generated packages."""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import models, rest, spec, webhooks
from .pytypes import TypeMapper
from .render import Renderer

#: generated paths below ``src/githubapp``; everything else there is handwritten
GENERATED = ("models", "rest", "webhooks/models", "webhooks/_events.py", "webhooks/__init__.py")
PACKAGE = spec.ROOT / "src" / "githubapp"


def generate(out: Path) -> None:
    started = time.perf_counter()
    rest_spec = spec.load("rest")
    hook_spec = spec.load("webhooks")
    synthetic = rest.collect_synthetic(rest_spec)
    rest_schemas = dict(rest_spec.document["components"]["schemas"])
    clash = set(synthetic) & set(rest_schemas)
    if clash:
        raise SystemExit(f"synthetic model names clash with component schemas: {sorted(clash)}")
    rest_schemas = spec.model_schemas({**rest_schemas, **synthetic})
    hook_schemas = spec.model_schemas(hook_spec.document["components"]["schemas"])
    layouts = models.generate({
        "rest": (rest_schemas, rest_spec.document["openapi"]),
        "webhooks": (hook_schemas, hook_spec.document["openapi"]),
    })
    renderer = Renderer(rest_spec, hook_spec)
    mapper = TypeMapper(rest_spec, layouts["rest"])
    namespaces = rest.build(rest_spec, mapper)
    renderer.write_models(out / "models", layouts["rest"], rest_spec)
    renderer.write_rest(out / "rest", namespaces)
    renderer.write_models(out / "webhooks" / "models", layouts["webhooks"], hook_spec)
    renderer.write_events(out / "webhooks", webhooks.events(hook_spec, layouts["webhooks"]))
    ops = sum(len(ns.methods) for ns in namespaces)
    print(f"codegen: {ops} operations in {len(namespaces)} namespaces, "
          f"{len(layouts['rest'].index)} REST models in {len(layouts['rest'].modules)} modules, "
          f"{len(layouts['webhooks'].index)} webhook models; {time.perf_counter() - started:.1f}s", file=sys.stderr)


#: generated file kinds compared by ``--check``
SOURCES = (".py", ".pyi")


def clear(package: Path) -> None:
    for rel in GENERATED:
        target = package / rel
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def differences(left: Path, right: Path) -> list[str]:
    out: list[str] = []
    for rel in GENERATED:
        a, b = left / rel, right / rel
        if a.is_file() or b.is_file():
            if not (a.is_file() and b.is_file() and filecmp.cmp(a, b, shallow=False)):
                out.append(rel)
            continue
        files_a = {p.relative_to(a) for p in a.rglob("*.py*") if p.suffix in SOURCES} if a.exists() else set()
        files_b = {p.relative_to(b) for p in b.rglob("*.py*") if p.suffix in SOURCES} if b.exists() else set()
        for f in sorted(files_a ^ files_b):
            out.append(f"{rel}/{f} (only on one side)")
        for f in sorted(files_a & files_b):
            if not filecmp.cmp(a / f, b / f, shallow=False):
                out.append(f"{rel}/{f}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed generated code is stale")
    parser.add_argument("--out", type=Path, default=PACKAGE, help="package directory to write (default: src/githubapp)")
    args = parser.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory(prefix="githubapp-check-") as tmp:
            generate(Path(tmp))
            diff = differences(Path(tmp), args.out)
        if diff:
            print("generated code is stale; run `make generate`. Differs:\n  " + "\n  ".join(diff[:50]), file=sys.stderr)
            return 1
        print("generated code is up to date", file=sys.stderr)
        return 0
    clear(args.out)
    generate(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
