"""Parsing a 100-issue list page into models against ``json.loads`` of the same bytes, same run.

    python3 bench/parse_list.py [--rounds 25]

The page is the spec's ``components/examples/issue`` repeated with distinct ids and numbers. The
typed side is the SDK's own decode path for ``issues/list-for-repo``: ``Operation.adapter(200)``
(``validate_json`` on the bytes) and, end to end, ``githubapp._shared.decode_response``. Goal
(issue 2): at most 1.3x ``json.loads``. The lenient (drift) path is reported for information.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import timeit
import warnings
from collections.abc import Callable
from typing import Any

from _common import issue_example, issue_page, load_average, table, verdict

GOAL_RATIO = 1.3
OPERATION_ID = "issues/list-for-repo"


class _Collect(logging.Handler):
    """Keeps the log records it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def calibrate(fn: Callable[[], Any], target_s: float = 0.05) -> int:
    """Calls per timing round so that one round lasts about ``target_s``."""
    number, elapsed = timeit.Timer(fn).autorange()
    return max(1, round(number * target_s / max(elapsed, 1e-9)))


def best_times_us(fns: dict[str, Callable[[], Any]], rounds: int, *, gc_enabled: bool = False) -> dict[str, float]:
    """Best per-call CPU time (microseconds) of each function over ``rounds`` short interleaved rounds.

    Thread CPU time, short rounds rotated between the functions and the minimum over them: load
    from other processes on a shared machine inflates some rounds but rarely all, and every
    function alike. ``timeit`` turns the garbage collector off unless ``gc_enabled``.
    """
    numbers = {name: calibrate(fn) for name, fn in fns.items()}
    best = {name: float("inf") for name in fns}
    setup = "import gc; gc.enable()" if gc_enabled else "pass"
    for _ in range(rounds):
        for name, fn in fns.items():
            t = timeit.Timer(fn, setup=setup, timer=time.thread_time).timeit(numbers[name]) / numbers[name] * 1e6
            best[name] = min(best[name], t)
    return best


def run(rounds: int = 25) -> list[list[str]]:
    """Measure, print the details, return the summary rows for ``run_all``."""
    import httpx

    from githubapp._decode import decode_json
    from githubapp._operation import Operation
    from githubapp._shared import decode_response
    from githubapp.config import ClientConfig
    from githubapp.rest import issues as namespace

    ops: dict[str, Operation] = namespace._OPERATIONS
    op = next((o for o in ops.values() if o.operation_id == OPERATION_ID), None)
    if op is None:
        raise RuntimeError(f"{OPERATION_ID} not found in githubapp.rest.issues")
    print(f"== parse a 100-issue page: best CPU time of {rounds} interleaved timeit rounds of ~50 ms; load average {load_average()}")

    page = issue_page(issue_example(), 100)
    content = json.dumps(page).encode()
    drifting = [dict(item) for item in page]
    drifting[37]["title"] = None  # the spec says a non-null string
    drift_content = json.dumps(drifting).encode()
    config = ClientConfig()
    response = httpx.Response(200, content=content, headers={"Content-Type": "application/json"})
    drift_response = httpx.Response(200, content=drift_content, headers={"Content-Type": "application/json"})

    # first use in this process: model import + schema build + first validation (reported, not a ratio)
    t0 = time.perf_counter()
    adapter = op.adapter(200)
    t1 = time.perf_counter()
    first = adapter.validate_json(content)
    t2 = time.perf_counter()
    if [type(i).__name__ for i in first] != ["Issue"] * 100 or [i.number for i in first] != list(range(1, 101)):
        raise RuntimeError("the fast path did not return 100 Issue models")
    logger = logging.getLogger("githubapp")
    handler = _Collect()
    records = handler.records
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lenient = decode_response(op, drift_response, config)
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    drift_warnings = [w for w in caught if w.category.__name__ == "SpecDriftWarning"]
    if len(lenient) != 100 or lenient[37].title is not None or lenient[36].title != page[36]["title"]:
        raise RuntimeError("the lenient path did not keep the drifting page as sent")
    if not drift_warnings or not records:
        raise RuntimeError("the lenient path did not report the drift")

    def typed_adapter() -> Any:
        return adapter.validate_json(content)

    def typed_decode() -> Any:
        return decode_response(op, response, config)

    def plain() -> Any:
        return json.loads(content)

    def lenient_decode() -> Any:
        return decode_json(op.return_type(200), drift_content, op.operation_id)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logger.disabled = True  # drift is reported once per place anyway; keep the timing loop quiet
        try:
            times = best_times_us({"json.loads": plain, "adapter.validate_json": typed_adapter,
                                   "decode_response": typed_decode, "lenient, 1 drifting item": lenient_decode}, rounds)
            with_gc = best_times_us({"json.loads": plain, "adapter.validate_json": typed_adapter},
                                    max(3, rounds // 3), gc_enabled=True)
        finally:
            logger.disabled = False

    base = times["json.loads"]
    print(f"page: 100 issues, {len(content) / 1024:.0f} KiB; first use: adapter build {(t1 - t0) * 1000:.0f} ms "
          f"(imports the model graph, builds the schema), first validate_json {(t2 - t1) * 1000:.1f} ms")
    print(table(
        [[name, f"{t / 1000:.2f}", f"{t / base:.2f}x"] for name, t in times.items()],
        ["path", "CPU ms per page (best)", "ratio to json.loads"],
    ))
    gc_ratio = with_gc["adapter.validate_json"] / with_gc["json.loads"]
    print(f"with the garbage collector on (timeit turns it off): adapter.validate_json "
          f"{with_gc['adapter.validate_json'] / 1000:.2f} ms vs json.loads {with_gc['json.loads'] / 1000:.2f} ms = {gc_ratio:.2f}x")
    ratio = times["adapter.validate_json"] / base
    end_to_end = times["decode_response"] / base
    return [
        ["100-issue page: Operation.adapter(200).validate_json / json.loads",
         f"{ratio:.2f}x ({times['adapter.validate_json'] / 1000:.2f} vs {base / 1000:.2f} ms; "
         f"decode_response {end_to_end:.2f}x; GC on {gc_ratio:.2f}x)",
         f"<= {GOAL_RATIO}x", verdict(ratio <= GOAL_RATIO)],
        ["same page, 1 drifting item (lenient path) / json.loads",
         f"{times['lenient, 1 drifting item'] / base:.2f}x ({times['lenient, 1 drifting item'] / 1000:.2f} ms)",
         "(information)", ""],
        ["first use of list[Issue] in a process (adapter build)", f"{(t1 - t0) * 1000:.0f} ms", "(information)", ""],
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args(argv)
    summary = run(args.rounds)
    print()
    print(table(summary, ["measure", "measured", "goal", "verdict"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
