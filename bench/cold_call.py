"""A cold process making its first typed call, against a plain httpx + ``json.loads`` script, same run.

    python3 bench/cold_call.py [--repeats 9]

Both talk to the same local server (a separate process on 127.0.0.1 serving the spec's ``issue``
example at ``/repos/o/r/issues/1``). Goal (issue 2): the typed cold call costs at most 1.5x the
plain script, whole process from start to exit. The verdict uses the child's CPU time (user + sys
from ``wait4``), which load from other processes on a shared machine inflates far less than wall
time (shown too). Peak RSS is the child's ``VmHWM`` (see ``_common.PEAK_RSS``).
"""

from __future__ import annotations

import argparse
import sys

from _common import (
    PEAK_RSS,
    changed_warning,
    column,
    interleaved,
    issue_example,
    load_average,
    local_server,
    med,
    source_stamp,
    table,
    verdict,
)

GOAL_RATIO = 1.5
PATH = "/repos/o/r/issues/1"

PLAIN = "plain httpx + json.loads"
TYPED = "githubapp typed gh.issues.get"
RAW = "githubapp gh.request + json.loads"

_PRELUDE = """\
import time
_w = time.perf_counter(); _c = time.process_time()
"""
_EPILOGUE = """
_w = (time.perf_counter() - _w) * 1000; _c = (time.process_time() - _c) * 1000
""" + PEAK_RSS + """
print("BENCH", f"script_ms={_w}", f"script_cpu_ms={_c}", f"drift={int(bool(_drift))}", f"peak_kb={_peak_kb()}")
"""

#: variant -> script run in a fresh process with the server's base URL as argv[1]
SCRIPTS: dict[str, str] = {
    PLAIN: _PRELUDE + """\
import asyncio, json, sys
import httpx

async def main() -> dict:
    headers = {"Authorization": "Bearer t", "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    async with httpx.AsyncClient(base_url=sys.argv[1], headers=headers) as client:
        response = await client.get("/repos/o/r/issues/1")
        response.raise_for_status()
        return json.loads(response.content)

issue = asyncio.run(main())
assert issue["number"] == 1, issue
_drift = []
""" + _EPILOGUE,
    TYPED: _PRELUDE + """\
import asyncio, sys, warnings
from githubapp import AsyncGitHubClient

async def main():
    async with AsyncGitHubClient(token="t", base_url=sys.argv[1]) as gh:
        return await gh.issues.get("o", "r", 1)

with warnings.catch_warnings(record=True) as _drift:
    warnings.simplefilter("always")
    issue = asyncio.run(main())
_drift = [w for w in _drift if w.category.__name__ == "SpecDriftWarning"]
assert type(issue).__name__ == "Issue" and issue.number == 1, issue
""" + _EPILOGUE,
    RAW: _PRELUDE + """\
import asyncio, json, sys
from githubapp import AsyncGitHubClient

async def main() -> dict:
    async with AsyncGitHubClient(token="t", base_url=sys.argv[1]) as gh:
        response = await gh.request("GET", "/repos/{owner}/{repo}/issues/{issue_number}", owner="o", repo="r", issue_number=1)
        return json.loads(response.content)

issue = asyncio.run(main())
assert issue["number"] == 1, issue
_drift = []
""" + _EPILOGUE,
}


def run(repeats: int = 9) -> list[list[str]]:
    """Measure, print the details, return the summary rows for ``run_all``."""
    issue = issue_example()
    issue["number"] = 1
    print(f"== cold first call: {repeats} fresh processes per variant, interleaved; load average {load_average()}")
    stamp = source_stamp()
    with local_server({PATH: issue}) as base_url:
        samples = interleaved(SCRIPTS, repeats, args=[base_url])
    warning = changed_warning(stamp)
    base = samples[PLAIN]
    rows = []
    for name, ss in samples.items():
        rows.append([
            name,
            f"{med(column(ss, 'wall_ms')):.0f}", f"{med(column(ss, 'wall_ms')) / med(column(base, 'wall_ms')):.2f}x",
            f"{med(column(ss, 'cpu_ms')):.0f}", f"{med(column(ss, 'cpu_ms')) / med(column(base, 'cpu_ms')):.2f}x",
            f"{min(column(ss, 'cpu_ms')):.0f}", f"{min(column(ss, 'cpu_ms')) / min(column(base, 'cpu_ms')):.2f}x",
            f"{med(column(ss, 'script_ms')):.0f}",
            f"{med(column(ss, 'peak_kb')) / 1024:.1f}",
            "yes" if any(column(ss, "drift")) else "no",
        ])
    print(table(rows, ["variant", "wall ms (median)", "ratio", "cpu ms (median)", "ratio", "cpu ms (min)", "ratio",
                       "script ms", "peak RSS MiB", "drift path"]))
    if warning:
        print(warning)
    typed = samples[TYPED]
    wall_ratio = med(column(typed, "wall_ms")) / med(column(base, "wall_ms"))
    cpu_ratio = med(column(typed, "cpu_ms")) / med(column(base, "cpu_ms"))
    cpu_min_ratio = min(column(typed, "cpu_ms")) / min(column(base, "cpu_ms"))
    rss = med(column(typed, "peak_kb")) / med(column(base, "peak_kb"))
    return [
        ["cold process, first typed call / plain httpx script",
         f"{cpu_ratio:.2f}x CPU median ({med(column(typed, 'cpu_ms')):.0f} vs {med(column(base, 'cpu_ms')):.0f} ms), "
         f"{cpu_min_ratio:.2f}x min; wall {wall_ratio:.2f}x",
         f"<= {GOAL_RATIO}x",
         verdict(cpu_ratio <= GOAL_RATIO, cpu_min_ratio <= GOAL_RATIO) + (" (sources changed!)" if warning else "")],
        ["peak RSS typed / plain",
         f"{rss:.2f}x ({med(column(typed, 'peak_kb')) / 1024:.1f} vs {med(column(base, 'peak_kb')) / 1024:.1f} MiB)",
         "(information)", ""],
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    summary = run(args.repeats)
    print()
    print(table(summary, ["measure", "measured", "goal", "verdict"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
