"""Batch throughput: ``gh.batch`` against ``asyncio.gather`` with a semaphore over the same calls, same run.

    python3 bench/batch.py [--rounds 9] [--calls 400]

Both sides make the same typed calls (``gh.issues.get("o", "r", 1)``) through one client against a
local server (a separate process on 127.0.0.1 serving the spec's ``issue`` example; an asyncio
keep-alive server in this file, ``--serve``, that answers in one write, so no Nagle/delayed-ACK
stalls and enough throughput that the client side is what is measured), at concurrency
1, 10 and 50, in interleaved rounds (batch, gather, batch+progress, then rotated). Reported: calls/s
(wall) and client CPU per call. The ratio of a round is batch time / gather time of that round; the
verdict uses the median of those paired ratios (goal, issue 5: batch machinery overhead under 5%,
i.e. ratio <= 1.05), and flags a borderline result from the best round.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from _common import issue_example, load_average, med, server_process, source_stamp, table, verdict

GOAL_OVERHEAD = 0.05
PATH = "/repos/o/r/issues/1"
CONCURRENCY = (1, 10, 50)

BATCH = "gh.batch"
GATHER = "asyncio.gather + Semaphore"
PROGRESS = "gh.batch + on_progress"


# -- the local server ---------------------------------------------------------------------------


async def serve(routes_file: str) -> None:
    """``--serve``: answer GET ``path`` with ``routes[path]`` (404 otherwise), HTTP/1.1 keep-alive, one write each."""
    routes = {path.encode(): json.dumps(value).encode() for path, value in json.loads(Path(routes_file).read_text()).items()}
    not_found = b'{"message": "Not Found"}'

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                path = lines[0].split(b" ")[1].split(b"?")[0]
                length = next((int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length:")), 0)
                if length:
                    await reader.readexactly(length)
                body = routes.get(path)
                status = b"200 OK" if body is not None else b"404 Not Found"
                body = body if body is not None else not_found
                writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json; charset=utf-8\r\n"
                             b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
    print(server.sockets[0].getsockname()[1], flush=True)
    parent = os.getppid()
    async with server:
        while os.getppid() == parent:  # exit with the benchmark
            await asyncio.sleep(0.5)


@contextlib.contextmanager
def local_server(routes: Mapping[str, Any], *, startup_timeout: float = 20.0) -> Iterator[str]:
    """Run :func:`serve` in a separate process; yield its base URL; always stop it."""
    with tempfile.TemporaryDirectory(prefix="githubapp-bench-") as tmp:
        routes_file = Path(tmp) / "routes.json"
        routes_file.write_text(json.dumps(routes))
        argv = [sys.executable, __file__, "--serve", str(routes_file)]
        with server_process(argv, startup_timeout=startup_timeout) as (port, _):
            yield f"http://127.0.0.1:{port}"


# -- the measurement -----------------------------------------------------------------------------


def client_settings() -> dict[str, Any]:
    """One client for every variant: no cache (every call reaches the server), room for 50 in flight."""
    from githubapp import ClientConfig

    names = {f.name for f in fields(ClientConfig)}
    wanted = {"pool_size": 64, "max_concurrency": 64, "enable_cache": False}
    return {k: v for k, v in wanted.items() if k in names}


def variants(gh: Any, calls: int, concurrency: int) -> dict[str, Callable[[], Awaitable[list[Any]]]]:
    async def batch() -> list[Any]:
        return await gh.batch([(gh.issues.get, {"owner": "o", "repo": "r", "issue_number": 1}) for _ in range(calls)],
                              concurrency=concurrency)

    async def with_progress() -> list[Any]:
        seen: list[int] = []
        return await gh.batch([(gh.issues.get, {"owner": "o", "repo": "r", "issue_number": 1}) for _ in range(calls)],
                              concurrency=concurrency, on_progress=lambda p: seen.append(p.done))

    async def gather() -> list[Any]:
        semaphore = asyncio.Semaphore(concurrency)

        async def one() -> Any:
            async with semaphore:
                return await gh.issues.get(owner="o", repo="r", issue_number=1)

        return await asyncio.gather(*(one() for _ in range(calls)), return_exceptions=True)

    return {BATCH: batch, GATHER: gather, PROGRESS: with_progress}


async def measure(base_url: str, rounds: int, calls: int) -> dict[int, dict[str, list[tuple[float, float]]]]:
    """``{concurrency: {variant: [(wall s, cpu s) per round]}}``."""
    from githubapp import AsyncGitHubClient

    results: dict[int, dict[str, list[tuple[float, float]]]] = {}
    async with AsyncGitHubClient(token="t", base_url=base_url, **client_settings()) as gh:
        for concurrency in CONCURRENCY:
            fns = variants(gh, calls, concurrency)
            names = list(fns)
            for name in names:  # warm-up: connections, models, code paths
                await fns[name]()
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
            for i in range(rounds):
                for name in names[i % len(names):] + names[: i % len(names)]:
                    gc.collect()  # start every round with the same heap: no collection owed by the previous one
                    wall, cpu = time.perf_counter(), time.process_time()
                    out = await fns[name]()
                    samples[name].append((time.perf_counter() - wall, time.process_time() - cpu))
                    failed = [r for r in out if isinstance(r, BaseException)]
                    if len(out) != calls or failed:
                        raise RuntimeError(f"{name}: {len(out)} results, {len(failed)} failed: {failed[:1]!r}")
            results[concurrency] = samples
    return results


async def machinery(calls: int, rounds: int) -> dict[int, dict[str, float]]:
    """Best CPU microseconds per call of the batch machinery alone: no-op awaitables, no HTTP."""
    from githubapp import AsyncGitHubClient

    async def noop() -> int:
        await asyncio.sleep(0)
        return 1

    out: dict[int, dict[str, float]] = {}
    async with AsyncGitHubClient(token="t") as gh:
        for concurrency in CONCURRENCY:
            async def batch(concurrency: int = concurrency) -> list[Any]:
                return await gh.batch([noop() for _ in range(calls)], concurrency=concurrency)

            async def gather(concurrency: int = concurrency) -> list[Any]:
                semaphore = asyncio.Semaphore(concurrency)

                async def one() -> Any:
                    async with semaphore:
                        return await noop()

                return await asyncio.gather(*(one() for _ in range(calls)), return_exceptions=True)

            best = {BATCH: float("inf"), GATHER: float("inf")}
            for _ in range(rounds):
                for name, fn in ((BATCH, batch), (GATHER, gather)):
                    gc.collect()
                    cpu = time.thread_time()
                    await fn()
                    best[name] = min(best[name], (time.thread_time() - cpu) / calls * 1e6)
            out[concurrency] = best
    return out


def run(rounds: int = 9, calls: int = 400) -> list[list[str]]:
    """Measure, print the details, return the summary rows for ``run_all``."""
    issue = issue_example()
    issue["number"] = 1
    print(f"== batch throughput: {calls} typed calls per round, {rounds} interleaved rounds per concurrency; "
          f"load average {load_average()}")
    stamp = source_stamp()
    with local_server({PATH: issue}) as base_url:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the example may drift from the schema; both sides alike
            results = asyncio.run(measure(base_url, rounds, calls))
    if source_stamp() != stamp:
        print("WARNING: githubapp's sources changed during this measurement; run again on a quiet tree.")
    rows: list[list[str]] = []
    summary: list[list[str]] = []
    for concurrency, samples in results.items():
        base = samples[GATHER]
        for name, ss in samples.items():
            paired = [s[0] / b[0] for s, b in zip(ss, base, strict=True)]
            rows.append([
                str(concurrency), name,
                f"{calls / med([s[0] for s in ss]):.0f}",
                f"{med([s[1] for s in ss]) / calls * 1e6:.0f}",
                f"{med(paired):.3f}x", f"{min(paired):.3f}x",
                f"{statistics.median(s[1] for s in ss) / statistics.median(b[1] for b in base):.3f}x",
            ])
        paired = [s[0] / b[0] for s, b in zip(samples[BATCH], base, strict=True)]
        cpu = med([s[1] for s in samples[BATCH]]) / med([b[1] for b in base])
        limit = 1 + GOAL_OVERHEAD
        summary.append([
            f"gh.batch / gather+semaphore, concurrency {concurrency}",
            f"{med(paired):.3f}x wall median ({calls / med([s[0] for s in samples[BATCH]]):.0f} vs "
            f"{calls / med([b[0] for b in base]):.0f} calls/s), {min(paired):.3f}x best; CPU {cpu:.3f}x",
            f"<= {limit:.2f}x",
            verdict(med(paired) <= limit, min(paired) <= limit),
        ])
    print(table(rows, ["concurrency", "variant", "calls/s (median)", "client CPU us/call", "time ratio (median)",
                       "time ratio (best)", "CPU ratio"]))
    print()
    print("== the machinery alone: best CPU us per call over no-op awaitables (10,000 per round), and that")
    print("   difference as a share of one real call's client CPU (median, gather side, above)")
    bare = asyncio.run(machinery(10_000, max(3, rounds // 2)))
    rows = []
    for concurrency, best in bare.items():
        real = med([b[1] for b in results[concurrency][GATHER]]) / calls * 1e6
        share = (best[BATCH] - best[GATHER]) / real
        rows.append([str(concurrency), f"{best[BATCH]:.1f}", f"{best[GATHER]:.1f}", f"{real:.0f}", f"{share:+.2%}"])
        summary.append([f"batch machinery vs gather, no-op calls, concurrency {concurrency}",
                        f"{best[BATCH]:.1f} vs {best[GATHER]:.1f} us/call = {share:+.2%} of a real call", "(information)", ""])
    print(table(rows, ["concurrency", "gh.batch us/call", "gather+semaphore us/call", "real call us", "difference / real call"]))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--serve", metavar="ROUTES_JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(serve(args.serve))
        return 0
    summary = run(args.rounds, args.calls)
    print()
    print(table(summary, ["measure", "measured", "goal", "verdict"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
