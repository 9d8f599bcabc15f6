"""Import cost of githubapp against ``import httpx, pydantic``, in fresh processes of the same run.

    python3 bench/import_time.py [--repeats 15] [--no-detail]

Goal (issue 2): githubapp adds under 20 ms over importing httpx and pydantic. Measured in each
child around the import statement only (interpreter start-up is the same for every variant); the
verdict uses the median CPU time (``time.process_time``), which load from other processes on a
shared machine inflates far less than wall time (shown too).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

from _common import (
    changed_warning,
    child_env,
    column,
    interleaved,
    load_average,
    med,
    run_child,
    source_stamp,
    table,
    verdict,
)

GOAL_MS = 20.0
BASELINE = "import httpx, pydantic"
TARGET = "from githubapp import AsyncGitHubClient"

#: variant name -> the statement timed in a fresh process
STATEMENTS: dict[str, str] = {
    BASELINE: "import httpx, pydantic",
    "import httpx; from pydantic import BaseModel, TypeAdapter": "import httpx\nfrom pydantic import BaseModel, TypeAdapter",
    "import githubapp": "import githubapp",
    TARGET: "from githubapp import AsyncGitHubClient",
}

CHILD = """\
import sys, time
_w = time.perf_counter(); _c = time.process_time()
{statement}
_w = (time.perf_counter() - _w) * 1000; _c = (time.process_time() - _c) * 1000
print("BENCH", f"import_ms={{_w}}", f"import_cpu_ms={{_c}}", f"modules={{len(sys.modules)}}")
"""

_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def child_code(statement: str) -> str:
    return CHILD.format(statement=statement)


def importtime(statement: str, *, bytecode_cache: bool = True) -> list[tuple[str, int, int, int]]:
    """``python -X importtime``: (module, self us, cumulative us, depth) in import order."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True, text=True, env=child_env(bytecode_cache=bytecode_cache), timeout=60, check=True,
    )
    rows = []
    for line in proc.stderr.splitlines():
        m = _IMPORTTIME.match(line)
        if m:
            rows.append((m.group(4), int(m.group(1)), int(m.group(2)), (len(m.group(3)) - 1) // 2))
    return rows


def detail(top: int = 15) -> list[str]:
    """Top offenders of ``import githubapp; githubapp.AsyncGitHubClient`` beyond what the baseline imports."""
    base = {name for name, *_ in importtime("import httpx, pydantic")}
    rows = importtime("import githubapp; githubapp.AsyncGitHubClient")
    extra = [r for r in rows if r[0] not in base]
    out = [f"python -X importtime -c 'import githubapp; githubapp.AsyncGitHubClient' (one run, bytecode cached): "
           f"{len(rows)} modules, {len(extra)} not imported by `{BASELINE}`, "
           f"their self time {sum(r[1] for r in extra) / 1000:.1f} ms"]
    groups: dict[str, int] = {}
    for name, self_us, _, _ in extra:
        parts = name.split(".")
        key = ".".join(parts[:3]) if parts[0] == "pydantic" else ".".join(parts[:2]) if parts[0] == "githubapp" else parts[0]
        groups[key] = groups.get(key, 0) + self_us
    out.append("  self time of the extra modules by package (ms): " + ", ".join(
        f"{k} {v / 1000:.1f}" for k, v in sorted(groups.items(), key=lambda kv: -kv[1])[:12]))
    out.append(table(
        [[name, f"{s / 1000:.2f}", f"{c / 1000:.2f}"] for name, s, c, _ in sorted(extra, key=lambda r: -r[1])[:top]],
        ["extra module (top by self time)", "self ms", "cumulative ms"],
    ))
    return out


def run(repeats: int = 15, *, show_detail: bool = True) -> list[list[str]]:
    """Measure, print the details, return the summary rows for ``run_all``."""
    print(f"== import time: {repeats} fresh processes per variant, interleaved; load average {load_average()}")
    stamp = source_stamp()
    samples = interleaved({name: child_code(stmt) for name, stmt in STATEMENTS.items()}, repeats)
    warning = changed_warning(stamp)
    rows = []
    stats: dict[str, dict[str, float]] = {}
    for name, ss in samples.items():
        wall, cpu = column(ss, "import_ms"), column(ss, "import_cpu_ms")
        stats[name] = {"med": med(wall), "min": min(wall), "cpu": med(cpu), "cpu_min": min(cpu),
                       "modules": med(column(ss, "modules"))}
        rows.append([name, f"{med(wall):.1f}", f"{min(wall):.1f}", f"{med(cpu):.1f}", f"{min(cpu):.1f}", f"{stats[name]['modules']:.0f}",
                     f"{med(wall) - med(column(samples[BASELINE], 'import_ms')):+.1f}"])
    print(table(rows, ["variant", "median ms", "min ms", "cpu ms (median)", "cpu ms (min)", "modules", "vs baseline ms"]))
    if warning:
        print(warning)

    # without a bytecode cache (how this dev environment runs: PYTHONDONTWRITEBYTECODE=1, editable install)
    nocache = [run_child(child_code(STATEMENTS[TARGET]), env=child_env(bytecode_cache=False)) for _ in range(max(3, repeats // 3))]
    nocache_ms = med(column(nocache, "import_ms"))
    print(f"for information: `{TARGET}` compiling githubapp from source each time (no bytecode cache): "
          f"median {nocache_ms:.1f} ms, {nocache_ms - stats[BASELINE]['med']:+.1f} ms over the baseline")
    if show_detail:
        for line in detail():
            print(line)

    bare = stats["import githubapp"]["med"] - stats[BASELINE]["med"]
    cpu_diff = stats[TARGET]["cpu"] - stats[BASELINE]["cpu"]
    cpu_min_diff = stats[TARGET]["cpu_min"] - stats[BASELINE]["cpu_min"]
    wall_diff = stats[TARGET]["med"] - stats[BASELINE]["med"]
    summary = [
        [f"`{TARGET}` over `{BASELINE}`",
         f"{cpu_diff:+.1f} ms CPU median ({stats[TARGET]['cpu']:.1f} vs {stats[BASELINE]['cpu']:.1f}), "
         f"{cpu_min_diff:+.1f} ms min; wall {wall_diff:+.1f} ms",
         f"< {GOAL_MS:.0f} ms",
         verdict(cpu_diff < GOAL_MS, cpu_min_diff < GOAL_MS) + (" (sources changed!)" if warning else "")],
        ["bare `import githubapp` (imports neither httpx nor pydantic)",
         f"{stats['import githubapp']['med']:.1f} ms ({bare:+.1f} ms vs baseline)", "(information)", ""],
    ]
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--no-detail", action="store_true", help="skip the -X importtime breakdown")
    args = parser.parse_args(argv)
    summary = run(args.repeats, show_detail=not args.no_detail)
    print()
    print(table(summary, ["measure", "measured", "goal", "verdict"]))
    return 0



if __name__ == "__main__":
    sys.exit(main())
