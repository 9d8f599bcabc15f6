"""Run every benchmark and print one summary table (``make bench``).

    python3 bench/run_all.py [--quick]

Each benchmark compares githubapp with a baseline measured in the same run; the table says
whether each goal (issues 2 and 5) is met. Always exits 0: these are measurements, not tests.
"""

from __future__ import annotations

import argparse
import sys
import time

import app_ack
import batch
import cold_call
import import_time
import parse_list
import pipeline
from _common import load_average, source_stamp, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (noisier)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    print(f"githubapp imported from {source_stamp()[0]}")
    summary: list[list[str]] = []
    summary += import_time.run(7 if args.quick else 15)
    print()
    summary += cold_call.run(5 if args.quick else 9)
    print()
    summary += parse_list.run(9 if args.quick else 25)
    print()
    summary += batch.run(5 if args.quick else 9, 200 if args.quick else 400)
    print()
    summary += pipeline.run(3 if args.quick else 5, quick=args.quick)
    print()
    summary += app_ack.run(2 if args.quick else 3, 300 if args.quick else 1000, quick=args.quick)
    print()
    print(f"== summary ({time.perf_counter() - start:.0f} s; Python {sys.version.split()[0]}; "
          f"load average {load_average()})")
    print(table(summary, ["measure", "measured", "goal", "verdict"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
