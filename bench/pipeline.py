"""Calls per second through the request pipeline against the plain transports, same run, interleaved.

    python3 bench/pipeline.py [--rounds 5] [--quick] [--json PATH] [--profile]

A local server (a separate process on 127.0.0.1, keep-alive, a raw asyncio protocol answering the
spec's ``issue`` example with GitHub's usual headers, and ``304`` when ``If-None-Match`` matches its
ETag) is measured on its own first, so that it is known not to be the bottleneck. Two groups of
variants run as interleaved rounds (A, B, C, ..., then rotated), each variant with a fresh client
whose pool is warmed up before the timed calls:

- **sequential** (one call in flight): plain ``httpx.AsyncClient.get`` + ``json.loads`` against
  ``gh.request`` + ``json.loads`` and typed ``gh.issues.get`` through the full pipeline (cache off,
  ``write_spacing=0``), on both transports; the blocking client; the cache answering 304.
- **50 in flight** (``pool_size=50, max_concurrency=50``): the same on both transports, raw aiohttp,
  and gidgethub on aiohttp (untyped ``getitem``) when installed.

The plain variants use the same ``httpx.AsyncClient`` the SDK makes (``async_http_client``), so
only the pipeline and the models differ from them. The pipeline variants let ``AsyncGitHubClient``
make its own client, as users get it: with ``transport="aiohttp"`` that client sends through its
direct path (``AiohttpSender``: straight to the aiohttp pool, past httpx's client), so against
"plain httpx client on aiohttp transport" it can cost less than 1x; raw aiohttp is its floor.

The per-call ratios use the client process's CPU time (what the pipeline itself costs, and what
load from other processes on a shared machine inflates least); calls/s are wall time. Goals
(issue 3): typed calls cost at most 1.15x the plain transport they use; typed calls at 50 in
flight reach gidgethub-on-aiohttp's throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import issue_example, load_average, server_process, source_stamp, table, verdict

GOAL_RATIO = 1.15
ISSUE_PATH = "/repos/o/r/issues/"
ETAG = '"bench-etag-1"'
CONCURRENCY = 50

# -- the server ------------------------------------------------------------------------------------


def serve(body_file: str) -> None:
    """Answer every request on one keep-alive HTTP/1.1 connection per client; print the port.

    ``GET /repos/o/r/issues/N`` -> 200 with the body (or 304 when ``If-None-Match`` carries the
    ETag), anything else -> 404. Stops when its parent dies. Runs as ``pipeline.py --serve FILE``.
    """
    body = Path(body_file).read_bytes()
    reset = int(time.time()) + 3600
    common = (
        "Content-Type: application/json; charset=utf-8\r\n"
        "Cache-Control: private, max-age=60, s-maxage=60\r\n"
        "Vary: Accept, Authorization, Cookie, X-GitHub-OTP\r\n"
        f"ETag: {ETAG}\r\n"
        "Last-Modified: Tue, 01 Apr 2025 10:00:00 GMT\r\n"
        "X-GitHub-Media-Type: github.v3; format=json\r\n"
        "x-github-api-version-selected: 2022-11-28\r\n"
        "X-RateLimit-Limit: 5000\r\nX-RateLimit-Remaining: 4999\r\n"
        f"X-RateLimit-Reset: {reset}\r\nX-RateLimit-Used: 1\r\nX-RateLimit-Resource: core\r\n"
        "X-GitHub-Request-Id: C0DE:1234:5678:9ABC:65F0A1B2\r\n"
        "Server: github.com\r\n"
    )
    ok = (f"HTTP/1.1 200 OK\r\n{common}Content-Length: {len(body)}\r\n\r\n").encode() + body
    not_modified = f"HTTP/1.1 304 Not Modified\r\n{common}\r\n".encode()
    missing_body = b'{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}'
    missing = (
        b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json; charset=utf-8\r\n"
        + f"Content-Length: {len(missing_body)}\r\n\r\n".encode() + missing_body
    )
    match = f"if-none-match: {ETAG}".encode()
    prefix = ISSUE_PATH.encode()

    class Protocol(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: asyncio.Transport = transport  # type: ignore[assignment]
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            buffer = self.buffer + data if self.buffer else data
            out = []
            while True:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    break
                head = buffer[:end].lower()
                length = 0
                at = head.find(b"\r\ncontent-length:")
                if at >= 0:
                    stop = head.find(b"\r\n", at + 2)
                    length = int(head[at + 17:stop if stop > 0 else len(head)])
                if len(buffer) < end + 4 + length:
                    break
                buffer = buffer[end + 4 + length:]
                path = head[head.find(b" ") + 1:]
                if path.startswith(prefix):
                    out.append(not_modified if match in head else ok)
                else:
                    out.append(missing)
            self.buffer = buffer
            if out:
                self.transport.write(b"".join(out))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Protocol, "127.0.0.1", 0, backlog=1024)
        print(server.sockets[0].getsockname()[1], flush=True)
        parent = os.getppid()
        while os.getppid() == parent:
            await asyncio.sleep(0.5)

    asyncio.run(main())


@dataclass
class Server:
    base_url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far."""
        with open(f"/proc/{self.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def bench_server(body: bytes) -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="githubapp-bench-") as tmp:
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(body)
        with server_process([sys.executable, __file__, "--serve", str(body_file)]) as (port, proc):
            yield Server(f"http://127.0.0.1:{port}", proc.pid)


# -- the variants ----------------------------------------------------------------------------------

Call = Callable[[int], Awaitable[Any]]


def _config(base_url: str, concurrency: int, **changes: Any) -> Any:
    from githubapp.config import ClientConfig

    pool = max(10, concurrency)
    options: dict[str, Any] = {"enable_cache": False, "write_spacing": 0.0, "pool_size": pool, "max_concurrency": pool}
    options.update(changes)
    return ClientConfig(base_url=base_url, **options)


def _check(issue: Any) -> None:
    if issue["number"] != 1:
        raise AssertionError(issue)


@contextlib.asynccontextmanager
async def plain_httpx(base_url: str, concurrency: int, transport: str = "httpx") -> AsyncIterator[Call]:
    from githubapp.http.transports import async_http_client

    config = _config(base_url, concurrency, transport=transport)
    http = async_http_client(config)
    http.headers["Authorization"] = "Bearer t"

    async def call(n: int) -> Any:
        response = await http.get(f"{base_url}{ISSUE_PATH}{n}")
        if response.status_code != 200:
            raise AssertionError(response)
        return json.loads(response.content)

    async with http:
        yield call


@contextlib.asynccontextmanager
async def pipeline_client(base_url: str, concurrency: int, *, typed: bool, transport: str = "httpx",
                          **changes: Any) -> AsyncIterator[Call]:
    from githubapp import AsyncGitHubClient

    config = _config(base_url, concurrency, transport=transport, **changes)
    # the client makes its own httpx client (async_http_client), as users get it: with
    # transport="aiohttp" it sends through its direct path (AiohttpSender), past httpx's client
    async with AsyncGitHubClient(token="t", config=config) as gh:
        if typed:
            get = gh.issues.get

            async def call(n: int) -> Any:
                return await get("o", "r", n)
        else:
            async def call(n: int) -> Any:
                response = await gh.request("GET", "/repos/{owner}/{repo}/issues/{issue_number}",
                                            owner="o", repo="r", issue_number=n)
                return json.loads(response.content)
        yield call


@contextlib.asynccontextmanager
async def raw_aiohttp(base_url: str, concurrency: int) -> AsyncIterator[Call]:
    import aiohttp

    headers = {"Authorization": "Bearer t", "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "bench"}
    connector = aiohttp.TCPConnector(limit=max(10, concurrency))
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        async def call(n: int) -> Any:
            async with session.get(f"{base_url}{ISSUE_PATH}{n}") as response:
                if response.status != 200:
                    raise AssertionError(response)
                return json.loads(await response.read())
        yield call


@contextlib.asynccontextmanager
async def gidgethub_aiohttp(base_url: str, concurrency: int) -> AsyncIterator[Call]:
    import aiohttp
    from gidgethub.aiohttp import GitHubAPI

    connector = aiohttp.TCPConnector(limit=max(10, concurrency))
    async with aiohttp.ClientSession(connector=connector) as session:
        gh = GitHubAPI(session, "bench", oauth_token="t", base_url=base_url)

        async def call(n: int) -> Any:
            return await gh.getitem(f"{ISSUE_PATH}{n}")
        yield call


@contextlib.contextmanager
def sync_client(base_url: str, *, typed: bool) -> Iterator[Callable[[int], Any]]:
    from githubapp import GitHubClient
    from githubapp.http.transports import sync_http_client

    config = _config(base_url, 1)
    http = sync_http_client(config)
    if typed:
        with http, GitHubClient(token="t", config=config, http_client=http) as gh:
            get = gh.issues.get
            yield lambda n: get("o", "r", n)
        return
    http.headers["Authorization"] = "Bearer t"

    def call(n: int) -> Any:
        response = http.get(f"{base_url}{ISSUE_PATH}{n}")
        if response.status_code != 200:
            raise AssertionError(response)
        return json.loads(response.content)

    with http:
        yield call


@dataclass
class Variant:
    name: str
    make: Callable[[str, int], Any]  # -> async (or, with sync=True, blocking) context manager of a call
    sync: bool = False
    typed: bool = False


def _have(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


PLAIN = "plain httpx client .get + json.loads"
RAW = "gh.request + json.loads (pipeline, no models)"
TYPED = "typed gh.issues.get (full pipeline)"
PLAIN_AIO = "plain httpx client on aiohttp transport + json.loads"
RAW_AIO = "gh.request + json.loads, aiohttp transport"
TYPED_AIO = "typed gh.issues.get, aiohttp transport"
SYNC_PLAIN = "plain httpx.Client + json.loads (blocking)"
SYNC_TYPED = "typed GitHubClient.issues.get (blocking)"
CACHED = "typed gh.issues.get, cache on (304s)"
AIOHTTP = "raw aiohttp + json.loads"
GIDGETHUB = "gidgethub on aiohttp, getitem (untyped)"


def sequential_variants() -> list[Variant]:
    variants = [
        Variant(PLAIN, lambda u, c: plain_httpx(u, c)),
        Variant(RAW, lambda u, c: pipeline_client(u, c, typed=False)),
        Variant(TYPED, lambda u, c: pipeline_client(u, c, typed=True), typed=True),
        Variant(CACHED, lambda u, c: pipeline_client(u, c, typed=True, enable_cache=True), typed=True),
        Variant(SYNC_PLAIN, lambda u, c: sync_client(u, typed=False), sync=True),
        Variant(SYNC_TYPED, lambda u, c: sync_client(u, typed=True), sync=True, typed=True),
    ]
    if _have("aiohttp"):
        variants += [
            Variant(PLAIN_AIO, lambda u, c: plain_httpx(u, c, "aiohttp")),
            Variant(TYPED_AIO, lambda u, c: pipeline_client(u, c, typed=True, transport="aiohttp"), typed=True),
        ]
    return variants


def concurrent_variants() -> list[Variant]:
    variants = [
        Variant(PLAIN, lambda u, c: plain_httpx(u, c)),
        Variant(RAW, lambda u, c: pipeline_client(u, c, typed=False)),
        Variant(TYPED, lambda u, c: pipeline_client(u, c, typed=True), typed=True),
    ]
    if _have("aiohttp"):
        variants += [
            Variant(PLAIN_AIO, lambda u, c: plain_httpx(u, c, "aiohttp")),
            Variant(RAW_AIO, lambda u, c: pipeline_client(u, c, typed=False, transport="aiohttp")),
            Variant(TYPED_AIO, lambda u, c: pipeline_client(u, c, typed=True, transport="aiohttp"), typed=True),
            Variant(AIOHTTP, raw_aiohttp),
        ]
    if _have("gidgethub") and _have("aiohttp"):
        variants.append(Variant(GIDGETHUB, gidgethub_aiohttp))
    return variants


# -- measuring -------------------------------------------------------------------------------------


@dataclass
class Run:
    calls: int
    wall: float
    cpu: float
    server_cpu: float

    @property
    def rate(self) -> float:
        return self.calls / self.wall

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.calls * 1e6

    @property
    def wall_us(self) -> float:
        return self.wall / self.calls * 1e6


@dataclass
class Result:
    name: str
    runs: list[Run] = field(default_factory=list)

    def med(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)

    def spread(self, attr: str) -> float:
        """(max - min) / median over the rounds: the run-to-run noise."""
        values = [getattr(r, attr) for r in self.runs]
        return (max(values) - min(values)) / statistics.median(values)


async def _drive(call: Call, calls: int, concurrency: int, start: int = 0) -> None:
    per_worker, extra = divmod(calls, concurrency)

    async def worker(w: int, count: int) -> None:
        for i in range(count):
            await call((start + w + i * concurrency) % 100 + 1)

    if concurrency == 1:
        for i in range(calls):
            await call((start + i) % 100 + 1)
        return
    await asyncio.gather(*(worker(w, per_worker + (w < extra)) for w in range(concurrency)))


def measure(variant: Variant, server: Server, calls: int, concurrency: int) -> Run:
    """One fresh client: warm up (fills the pool, loads the models), then ``calls`` timed calls."""
    warmup = max(50, 2 * concurrency)
    if variant.sync:
        with variant.make(server.base_url, concurrency) as call:
            for i in range(warmup):
                call(i % 100 + 1)
            s0, w0, c0 = server.cpu_seconds(), time.perf_counter(), time.process_time()
            for i in range(calls):
                call(i % 100 + 1)
            w1, c1, s1 = time.perf_counter(), time.process_time(), server.cpu_seconds()
        return Run(calls, w1 - w0, c1 - c0, s1 - s0)

    async def main() -> Run:
        async with variant.make(server.base_url, concurrency) as call:
            await _drive(call, warmup, concurrency)
            s0, w0, c0 = server.cpu_seconds(), time.perf_counter(), time.process_time()
            await _drive(call, calls, concurrency, start=warmup)
            w1, c1, s1 = time.perf_counter(), time.process_time(), server.cpu_seconds()
        return Run(calls, w1 - w0, c1 - c0, s1 - s0)

    return asyncio.run(main())


def server_capacity(server: Server, seconds: float = 1.0, connections: int = 8) -> tuple[float, float]:
    """Requests/s the server answers to a minimal pipelining client, and its CPU µs per request.

    The client sends batches of 16 requests per connection on several connections, so the server,
    not this client, is the busy side.
    """
    host, port = server.base_url.removeprefix("http://").split(":")
    request = f"GET {ISSUE_PATH}1 HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer t\r\n\r\n".encode()
    batch = 16

    async def client(deadline: float) -> int:
        reader, writer = await asyncio.open_connection(host, int(port))
        done = 0
        while time.perf_counter() < deadline:
            writer.write(request * batch)
            seen = 0
            while seen < batch:
                head = await reader.readuntil(b"\r\n\r\n")
                at = head.lower().find(b"content-length:")
                length = int(head[at + 15:head.find(b"\r\n", at)]) if at >= 0 else 0
                await reader.readexactly(length)
                seen += 1
            done += batch
        writer.close()
        return done

    async def main() -> tuple[int, float]:
        s0, w0 = server.cpu_seconds(), time.perf_counter()
        counts = await asyncio.gather(*(client(w0 + seconds) for _ in range(connections)))
        return sum(counts), (time.perf_counter() - w0, server.cpu_seconds() - s0)  # type: ignore[return-value]

    total, (wall, cpu) = asyncio.run(main())  # type: ignore[misc]
    return total / wall, cpu / total * 1e6


def run_group(variants: list[Variant], server: Server, *, calls: int, concurrency: int, rounds: int) -> dict[str, Result]:
    results = {v.name: Result(v.name) for v in variants}
    for v in variants:  # warm-up round, not recorded: imports, models, first connections
        measure(v, server, max(50, calls // 10), concurrency)
    for i in range(rounds):
        order = variants[i % len(variants):] + variants[: i % len(variants)]
        for v in order:
            results[v.name].runs.append(measure(v, server, calls, concurrency))
    return results


def ratio(results: dict[str, Result], a: str, b: str, attr: str) -> tuple[float, float, float]:
    """a / b per call: the median of the per-round ratios, and their min and max (the noise)."""
    per_round = [getattr(x, attr) / getattr(y, attr) for x, y in zip(results[a].runs, results[b].runs, strict=True)]
    return statistics.median(per_round), min(per_round), max(per_round)


def print_group(title: str, results: dict[str, Result], base: str) -> None:
    rows = []
    for name, r in results.items():
        busy = statistics.median(run.server_cpu / run.wall for run in r.runs)
        cpu_ratio = ratio(results, name, base, "cpu_us")
        rows.append([
            name,
            f"{r.med('rate'):,.0f}", f"±{r.spread('rate') / 2:.0%}",
            f"{r.med('wall_us'):.0f}", f"{r.med('cpu_us'):.0f}",
            f"{cpu_ratio[0]:.2f}x ({cpu_ratio[1]:.2f}-{cpu_ratio[2]:.2f})",
            f"{ratio(results, name, base, 'wall_us')[0]:.2f}x",
            f"{busy:.0%}",
        ])
    print(title)
    print(table(rows, ["variant", "calls/s", "noise", "wall µs/call", "cpu µs/call", f"cpu ratio vs {base[:20]}",
                       "wall ratio", "server busy"]))


def profile(server: Server, concurrency: int, calls: int, transport: str = "httpx") -> None:
    """cProfile of typed calls through the pipeline: the top functions by own time."""
    import cProfile
    import pstats

    variant = Variant(TYPED, lambda u, c: pipeline_client(u, c, typed=True, transport=transport))
    measure(variant, server, 100, concurrency)
    profiler = cProfile.Profile()
    profiler.enable()
    measure(variant, server, calls, concurrency)
    profiler.disable()
    print(f"== cProfile: typed gh.issues.get, {concurrency} in flight, transport={transport}, {calls} calls")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def run(rounds: int = 5, *, quick: bool = False, json_path: str | None = None,
        only: str | None = None) -> list[list[str]]:
    """Measure, print the details, return the summary rows for ``run_all``."""
    seq_calls = 400 if quick else 1000
    conc_calls = 1000 if quick else 3000
    issue = issue_example()
    issue["number"] = 1
    body = json.dumps(issue).encode()
    print(f"== request pipeline: {rounds} interleaved rounds; load average {load_average()}")
    stamp = source_stamp()
    with bench_server(body) as server:
        capacity, server_us = server_capacity(server, 0.5 if quick else 1.0)
        print(f"server alone: {capacity:,.0f} requests/s, {server_us:.0f} µs CPU per request "
              f"({len(body):,}-byte body; pipelining client, 8 connections)")
        seq = conc = {}
        if only != "concurrent":
            seq = run_group(sequential_variants(), server, calls=seq_calls, concurrency=1, rounds=rounds)
        if only != "sequential":
            conc = run_group(concurrent_variants(), server, calls=conc_calls, concurrency=CONCURRENCY, rounds=rounds)
    changed = source_stamp() != stamp
    if seq:
        print()
        print_group(f"-- sequential, one call in flight ({seq_calls} calls per round)", seq, PLAIN)
    if conc:
        print()
        print_group(f"-- {CONCURRENCY} in flight, pool_size={CONCURRENCY}, max_concurrency={CONCURRENCY} "
                    f"({conc_calls} calls per round)", conc, PLAIN)
    print("noise: ± half the (max - min) / median of calls/s over the rounds; ratio ranges are per-round min-max. "
          "server busy: server CPU / wall while measuring (near 100% would make the server the bottleneck).")
    if changed:
        print("WARNING: githubapp's sources changed during this measurement; run again on a quiet tree.")

    summary: list[list[str]] = []
    report: dict[str, Any] = {"rounds": rounds, "server_capacity_rps": capacity, "server_cpu_us": server_us,
                              "load_average": load_average(), "groups": {}}

    def row(label: str, results: dict[str, Result], a: str, b: str, goal: bool) -> None:
        if a not in results or b not in results:
            return
        med_r, lo, hi = ratio(results, a, b, "cpu_us")
        wall_r = ratio(results, a, b, "wall_us")[0]
        measured = f"{med_r:.2f}x CPU/call ({lo:.2f}-{hi:.2f}); wall {wall_r:.2f}x"
        if goal:
            summary.append([label, measured, f"<= {GOAL_RATIO}x", verdict(med_r <= GOAL_RATIO, lo <= GOAL_RATIO)])
        else:
            summary.append([label, measured, "(information)", ""])

    row("sequential typed / plain httpx", seq, TYPED, PLAIN, True)
    row("sequential typed / plain, aiohttp transport", seq, TYPED_AIO, PLAIN_AIO, True)
    row(f"{CONCURRENCY} in flight typed / plain httpx", conc, TYPED, PLAIN, True)
    row(f"{CONCURRENCY} in flight typed / plain, aiohttp transport", conc, TYPED_AIO, PLAIN_AIO, True)
    row(f"{CONCURRENCY} in flight typed on aiohttp / raw aiohttp + json.loads", conc, TYPED_AIO, AIOHTTP, False)
    row("sequential gh.request / plain httpx (pipeline alone)", seq, RAW, PLAIN, False)
    row("sequential typed / gh.request + json.loads (models)", seq, TYPED, RAW, False)
    row("sequential blocking typed / async typed", seq, SYNC_TYPED, TYPED, False)
    row("sequential blocking typed / plain httpx.Client", seq, SYNC_TYPED, SYNC_PLAIN, False)
    row("sequential cache on (304s) / cache off", seq, CACHED, TYPED, False)
    if TYPED_AIO in conc:
        typed = conc[TYPED_AIO]
        rate = typed.med("rate")
        reference = conc.get(GIDGETHUB)
        if reference is not None:
            rate_r = statistics.median(a.rate / b.rate for a, b in zip(typed.runs, reference.runs, strict=True))
            cpu_r = ratio(conc, GIDGETHUB, TYPED_AIO, "cpu_us")
            measured = (f"{rate:,.0f} vs {reference.med('rate'):,.0f} calls/s ({rate_r:.2f}x); "
                        f"CPU/call {cpu_r[0]:.2f}x ({cpu_r[1]:.2f}-{cpu_r[2]:.2f})")
            summary.append([f"{CONCURRENCY} in flight typed on aiohttp / gidgethub-on-aiohttp", measured, ">= 1.0x",
                            verdict(rate_r >= 1.0, cpu_r[2] >= 1.0)])
        else:
            summary.append([f"{CONCURRENCY} in flight typed on aiohttp (gidgethub not installed)",
                            f"{rate:,.0f} calls/s", ">= 4,100 calls/s (issue 3)", verdict(rate >= 4100)])
        if TYPED in conc:
            summary.append([f"{CONCURRENCY} in flight typed: aiohttp / httpx transport",
                            f"{rate / conc[TYPED].med('rate'):.1f}x calls/s ({rate:,.0f} vs {conc[TYPED].med('rate'):,.0f})",
                            "(information)", ""])
    for label, results in (("sequential", seq), ("concurrent", conc)):
        report["groups"][label] = {
            name: {"calls_per_s": r.med("rate"), "noise": r.spread("rate"), "cpu_us_per_call": r.med("cpu_us"),
                   "wall_us_per_call": r.med("wall_us"), "cpu_ratio_vs_plain": ratio(results, name, PLAIN, "cpu_us")[0]}
            for name, r in results.items()
        }
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {json_path}")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5, 3 with --quick)")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (noisier)")
    parser.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    parser.add_argument("--profile", action="store_true", help="only profile typed calls (cProfile), both transports")
    parser.add_argument("--only", choices=["sequential", "concurrent"], help="run one group only")
    parser.add_argument("--serve", metavar="BODY_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    if args.profile:
        issue = issue_example()
        issue["number"] = 1
        with bench_server(json.dumps(issue).encode()) as server:
            profile(server, 1, 2000)
            profile(server, CONCURRENCY, 3000)
            if _have("aiohttp"):
                profile(server, CONCURRENCY, 3000, "aiohttp")
        return 0
    summary = run(args.rounds or (3 if args.quick else 5), quick=args.quick, json_path=args.json, only=args.only)
    print()
    print(table(summary, ["measure", "measured", "goal", "verdict"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
