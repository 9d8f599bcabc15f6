"""Shared helpers of the benchmarks: fresh child processes, statistics, the spec's examples, a local server.

Every measurement is a ratio against a baseline measured in the same run, with the variants
interleaved (A, B, A, B, ...) so that load from other processes hits both sides alike.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "openapi" / "api.github.com.json"
SERVER = Path(__file__).resolve().parent / "_server.py"
#: bytecode cache shared by all benchmark children (outside src/, reused between runs)
PYCACHE = Path(tempfile.gettempdir()) / "githubapp-bench-pycache"
MARK = "BENCH"
#: child-side snippet: ``_peak_kb()`` is this process's peak RSS in KiB. Linux's ``ru_maxrss`` of a child
#: (``wait4``/``getrusage``) also counts the spawning parent's high-water mark carried over fork/exec,
#: so the children read ``VmHWM`` (per address space) and fall back to ``ru_maxrss`` elsewhere.
PEAK_RSS = """
def _peak_kb():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""


@dataclass
class Sample:
    """One child process: wall and CPU time seen from the parent (``wait4``) and what the child printed."""

    wall_ms: float
    cpu_ms: float
    values: dict[str, float] = field(default_factory=dict)


def child_env(*, bytecode_cache: bool = True) -> dict[str, str]:
    """The environment of benchmark children.

    With ``bytecode_cache`` (the default, what an installed package gets) compiled modules are
    written to and read from :data:`PYCACHE`, for githubapp and its dependencies alike. Without it,
    children inherit ``PYTHONDONTWRITEBYTECODE`` and compile githubapp from source every time.
    """
    env = dict(os.environ)
    env.pop("PYTHONPYCACHEPREFIX", None)
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONWARNINGS", None)
    return env


def run_child(code: str, args: Sequence[str] = (), *, env: Mapping[str, str] | None = None,
              timeout: float = 60.0, python_flags: Sequence[str] = ()) -> Sample:
    """Run ``python -c code args`` in a fresh process; parse its ``BENCH key=value ...`` line."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *python_flags, "-c", code, *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(env or child_env()),
    )
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        assert proc.stdout is not None
        output = proc.stdout.read().decode(errors="replace")
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    wall = (time.perf_counter() - start) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed with exit code {proc.returncode}:\n{output}")
    values: dict[str, float] = {}
    for line in output.splitlines():
        if line.startswith(MARK + " "):
            for item in line.split()[1:]:
                key, _, value = item.partition("=")
                values[key] = float(value)
    cpu = (usage.ru_utime + usage.ru_stime) * 1000
    return Sample(wall, cpu, values)


def interleaved(variants: Mapping[str, str], repeats: int, *, args: Sequence[str] = (), warmup: int = 1,
                env: Mapping[str, str] | None = None) -> dict[str, list[Sample]]:
    """Run each variant's code ``repeats`` times in fresh processes, rotating the order every round."""
    names = list(variants)
    for _ in range(warmup):  # fills the bytecode and OS file caches; not recorded
        for name in names:
            run_child(variants[name], args, env=env)
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    for i in range(repeats):
        rotated = names[i % len(names):] + names[: i % len(names)]
        for name in rotated:
            samples[name].append(run_child(variants[name], args, env=env))
    return samples


def med(values: Sequence[float]) -> float:
    return statistics.median(values)


def column(samples: Sequence[Sample], key: str) -> list[float]:
    """One measured quantity over samples: an attribute of :class:`Sample` or a value the child printed."""
    if key in ("wall_ms", "cpu_ms"):
        return [float(getattr(s, key)) for s in samples]
    return [s.values[key] for s in samples]


def source_stamp() -> tuple[str, float, int]:
    """Where githubapp is imported from, the newest modification time of its ``.py`` files, and their count.

    Compared before and after a measurement: sources that change meanwhile (a regeneration) make
    the children recompile them, which inflates the githubapp side of every ratio.
    """
    spec = importlib.util.find_spec("githubapp")
    if spec is None or not spec.submodule_search_locations:
        return "githubapp not found", 0.0, 0
    root = Path(next(iter(spec.submodule_search_locations)))
    newest, count = 0.0, 0
    for path in root.rglob("*.py"):
        with contextlib.suppress(OSError):
            newest = max(newest, path.stat().st_mtime)
            count += 1
    return str(root), newest, count


def changed_warning(before: tuple[str, float, int]) -> str | None:
    """A warning line if githubapp's sources changed since ``before`` (see :func:`source_stamp`)."""
    after = source_stamp()
    if after == before:
        return None
    return (f"WARNING: githubapp's sources under {after[0]} changed during this measurement; the children "
            "recompiled them, so the githubapp side is inflated. Run again on a quiet tree.")


def load_average() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "n/a"
    return f"{one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def load_spec() -> dict[str, Any]:
    with SPEC.open("rb") as fh:
        spec: dict[str, Any] = json.load(fh)
    return spec


def issue_example(spec: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The spec's ``components/examples/issue`` payload (the value of the Example object)."""
    example = (spec or load_spec())["components"]["examples"]["issue"]
    value = example.get("value", example)
    if not isinstance(value, dict):
        raise TypeError("components/examples/issue is not a JSON object")
    return dict(value)


def issue_page(issue: Mapping[str, Any], count: int = 100) -> list[dict[str, Any]]:
    """A list page of ``count`` issues built from one example: distinct ids, numbers, node ids, URLs."""
    number = issue.get("number")
    page = []
    for i in range(1, count + 1):
        item = json.loads(json.dumps(issue))  # deep copy
        item["id"] = 1_000_000 + i
        item["number"] = i
        item["node_id"] = f"I_kwDOBench{i:04d}"
        item["title"] = f"{issue.get('title', 'Issue')} #{i}"
        for key in ("url", "html_url", "comments_url", "events_url", "labels_url"):
            if isinstance(item.get(key), str) and number is not None:
                item[key] = item[key].replace(f"/{number}", f"/{i}")
        page.append(item)
    return page


@contextlib.contextmanager
def server_process(argv: Sequence[str], *, startup_timeout: float = 20.0) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Start a server script that prints its port as its first line; yield (port, process).

    The process is always stopped on exit (the benchmark servers also stop by themselves when
    their parent dies).
    """
    proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=child_env())
    stdout = proc.stdout
    assert stdout is not None
    try:
        port_line: list[bytes] = []
        reader = threading.Thread(target=lambda: port_line.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(startup_timeout)
        if not port_line or not port_line[0].strip():
            raise RuntimeError(f"the benchmark server {argv[1:2]} did not start")
        yield int(port_line[0]), proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        stdout.close()


@contextlib.contextmanager
def local_server(routes: Mapping[str, Any], *, startup_timeout: float = 20.0) -> Iterator[str]:
    """Serve ``routes`` (path -> JSON value) from a separate process on 127.0.0.1; yield its base URL."""
    with tempfile.TemporaryDirectory(prefix="githubapp-bench-") as tmp:
        routes_file = Path(tmp) / "routes.json"
        routes_file.write_text(json.dumps(routes))
        with server_process([sys.executable, str(SERVER), str(routes_file)], startup_timeout=startup_timeout) as (port, _):
            yield f"http://127.0.0.1:{port}"


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """A plain-text table."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def verdict(ok: bool, ok_at_best: bool | None = None) -> str:
    """The goal verdict from the median; ``ok_at_best`` (from the minimum) flags a borderline result."""
    if ok_at_best is None or ok_at_best == ok:
        return "meets goal" if ok else "MISSES goal"
    return "borderline: median misses, min meets" if ok_at_best else "borderline: median meets, min misses"
