"""Many calls at once, bounded, in order, with progress: the engine behind ``gh.batch`` and the bulk helpers.

    results = await gh.batch(
        [(gh.issues.add_labels, {"owner": "o", "repo": "r", "issue_number": n, "labels": ["triage"]}) for n in numbers],
        concurrency=10,
        on_progress=lambda p: print(f"{p.done}/{p.total} ({p.failed} failed) {p.elapsed:.1f}s"),
    )
    for number, result in zip(numbers, results):
        if isinstance(result, Exception):
            print(number, "failed:", result)

- ``calls``: awaitables (``gh.issues.get("o", "r", 1)``), ``(method, kwargs)`` pairs, or zero-argument
  callables returning an awaitable. Pairs and callables are only invoked when a worker takes them,
  so nothing starts early; awaitables that never ran are closed.
- Results come back in input order, each the call's value or the exception it raised (``Exception``
  subclasses; ``KeyboardInterrupt`` and cancellation propagate). Every call goes through the client's
  pipeline, so throttling and rate-limit pauses apply: a paused identity pauses the batch.
- ``fail_fast=True``: the first failure cancels the rest; their results are :class:`BatchCancelledError`
  (``.started`` says whether the call was in flight, ``.cause`` is the failure that stopped the batch).
- Cancelling the task running the batch cancels every call in flight and closes the ones not started.
- ``on_progress(BatchProgress)`` is called once at the start and after every call; ``progress=True``
  draws a terminal bar with ``tqdm`` (``pip install 'githubapp[progress]'``). An exception raised by
  the callback stops the batch and propagates.

The blocking client runs the same bookkeeping one call after another in the calling thread
(:func:`run_sync`): no threads, no event loop; the pipeline's write spacing serializes writes anyway.
"""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from .errors import GitHubError

if TYPE_CHECKING:
    from types import TracebackType

__all__ = [
    "AsyncCall",
    "BatchCancelledError",
    "BatchProgress",
    "ProgressCallback",
    "SyncCall",
    "run_async",
    "run_sync",
]

T = TypeVar("T")

#: one call of an async batch: an awaitable, a ``(method, kwargs)`` pair or a zero-argument callable
AsyncCall: TypeAlias = (
    Awaitable[T] | tuple[Callable[..., Awaitable[T]], Mapping[str, Any]] | Callable[[], Awaitable[T]]
)
#: one call of a blocking batch: a ``(method, kwargs)`` pair or a zero-argument callable
SyncCall: TypeAlias = tuple[Callable[..., T], Mapping[str, Any]] | Callable[[], T]


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """How far a batch got: ``done`` of ``total`` calls finished (``failed`` of them raised), ``elapsed`` seconds."""

    done: int
    total: int
    failed: int
    elapsed: float

    @property
    def succeeded(self) -> int:
        return self.done - self.failed

    @property
    def fraction(self) -> float:
        """``done / total`` (1.0 for an empty batch)."""
        return self.done / self.total if self.total else 1.0


ProgressCallback: TypeAlias = Callable[[BatchProgress], object]


class BatchCancelledError(GitHubError):
    """The result of a call that ``fail_fast`` cancelled: ``.index`` in the batch, ``.started`` (it was in
    flight) and ``.cause``, the failure that stopped the batch."""

    def __init__(self, index: int, *, started: bool, cause: BaseException | None) -> None:
        self.index = index
        self.started = started
        self.cause = cause
        state = "cancelled in flight" if started else "not started"
        reason = f" after {type(cause).__name__}: {cause}" if cause is not None else ""
        super().__init__(f"batch call #{index} {state}: fail_fast stopped the batch{reason}")


class _Pending:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<pending>"


_PENDING: Any = _Pending()


def _check_concurrency(concurrency: int) -> int:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
    return concurrency


def _normalize_async(calls: Iterable[Any]) -> list[Any]:
    """The calls as a list, each checked before anything runs (a bad one raises ``TypeError`` naming it)."""
    if isinstance(calls, (str, bytes, Mapping)) or not isinstance(calls, Iterable):
        raise TypeError(f"calls must be an iterable of calls, got {type(calls).__name__}")
    items = list(calls)
    try:
        for index, call in enumerate(items):
            if isinstance(call, tuple):
                _check_pair(index, call)
            elif not (inspect.isawaitable(call) or callable(call)):
                raise TypeError(
                    f"batch call #{index}: expected an awaitable, a (method, kwargs) pair or a zero-argument callable, "
                    f"got {type(call).__name__} {call!r:.120}"
                )
    except TypeError:
        _close_all(items)  # nothing runs: no "coroutine was never awaited" for the good ones
        raise
    return items


def _check_pair(index: int, call: tuple[Any, ...]) -> None:
    if len(call) != 2 or not callable(call[0]) or not isinstance(call[1], Mapping):
        raise TypeError(
            f"batch call #{index}: expected a (method, kwargs) pair such as (gh.issues.get, {{'owner': ...}}), "
            f"got {call!r:.120}"
        )


def _close_all(items: list[Any]) -> None:
    for item in items:
        _close(item)


def _close(item: Any) -> None:
    """Close a coroutine that will never run (no "was never awaited" warning, its ``finally`` runs)."""
    close = getattr(item, "close", None)
    if inspect.iscoroutine(item) and close is not None:
        close()


def _start(call: Any) -> Any:
    if isinstance(call, tuple):
        return call[0](**call[1])
    if callable(call) and not inspect.isawaitable(call):
        return call()
    return call


class _Run:
    """The bookkeeping of one batch (no I/O): results in input order, counts, progress reports."""

    __slots__ = ("bar", "callback", "cause", "done", "failed", "results", "start", "started", "total")

    def __init__(self, total: int, on_progress: ProgressCallback | None, progress: bool) -> None:
        if on_progress is not None and not callable(on_progress):
            raise TypeError(f"on_progress must be a callable taking a BatchProgress, got {on_progress!r}")
        self.total = total
        self.results: list[Any] = [_PENDING] * total
        self.started = [False] * total
        self.done = 0
        self.failed = 0
        self.cause: BaseException | None = None
        self.callback = on_progress
        self.bar = _Bar(total) if progress else None
        self.start = time.perf_counter()

    def report(self) -> None:
        if self.bar is not None:
            self.bar.update(self.done, self.failed)
        if self.callback is not None:
            self.callback(BatchProgress(self.done, self.total, self.failed, time.perf_counter() - self.start))

    def succeed(self, index: int, value: Any) -> None:
        self.results[index] = value
        self.done += 1
        if self.callback is not None or self.bar is not None:
            self.report()

    def fail(self, index: int, exc: Exception) -> None:
        self.results[index] = exc
        self.done += 1
        self.failed += 1
        if self.cause is None:
            self.cause = exc
        if self.callback is not None or self.bar is not None:
            self.report()

    def finish(self) -> list[Any]:
        """Mark what never finished as cancelled; the results list."""
        for index, result in enumerate(self.results):
            if result is _PENDING:
                self.results[index] = BatchCancelledError(index, started=self.started[index], cause=self.cause)
        return self.results

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _Bar:
    """The ``progress=True`` terminal bar (tqdm, from the optional ``progress`` extra)."""

    def __init__(self, total: int) -> None:
        try:  # importlib: tqdm is optional and untyped, so no static import
            tqdm = importlib.import_module("tqdm.auto").tqdm
        except ImportError:
            raise ImportError(
                "progress=True draws a bar with tqdm, from the optional 'progress' extra: "
                "pip install 'githubapp[progress]' (or pass on_progress= to report progress yourself)"
            ) from None
        self._bar = tqdm(total=total, unit="call", desc="batch", dynamic_ncols=True)
        self._done = 0
        self._failed = 0

    def update(self, done: int, failed: int) -> None:
        if failed != self._failed:
            self._failed = failed
            self._bar.set_postfix(failed=failed, refresh=False)
        if done != self._done:
            self._bar.update(done - self._done)
            self._done = done

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


async def run_async(
    calls: Iterable[Any],
    *,
    concurrency: int = 10,
    on_progress: ProgressCallback | None = None,
    fail_fast: bool = False,
    progress: bool = False,
) -> list[Any]:
    """Run ``calls`` with at most ``concurrency`` in flight; the results in input order (see the module doc).

    ``concurrency`` workers take the calls in order from one shared queue: no task per call.
    """
    import anyio

    _check_concurrency(concurrency)
    items = _normalize_async(calls)
    try:
        run = _Run(len(items), on_progress, progress)
    except BaseException:
        _close_all(items)
        raise
    pending = iter(range(len(items)))
    callback_error: list[BaseException] = []

    async def worker(scope: anyio.CancelScope) -> None:
        for index in pending:
            call, items[index] = items[index], None
            run.started[index] = True
            try:
                value = await _start(call)
            except Exception as exc:
                try:
                    run.fail(index, exc)
                except Exception as error:  # the progress callback raised: stop, and re-raise it below
                    callback_error.append(error)
                    scope.cancel()
                    return
                if fail_fast:
                    scope.cancel()
                    return
            else:
                try:
                    run.succeed(index, value)
                except Exception as error:
                    callback_error.append(error)
                    scope.cancel()
                    return

    try:
        if run.total:
            run.report()
            async with anyio.create_task_group() as group:
                for _ in range(min(concurrency, run.total)):
                    group.start_soon(worker, group.cancel_scope)
        if callback_error:
            raise callback_error[0]
        return run.finish()
    finally:
        for index, started in enumerate(run.started):
            if not started and items[index] is not None:
                _close(items[index])
        run.close()


def run_sync(
    calls: Iterable[Any],
    *,
    on_progress: ProgressCallback | None = None,
    fail_fast: bool = False,
    progress: bool = False,
) -> list[Any]:
    """The blocking batch: ``calls`` one after another in this thread, with the same results and progress."""
    if isinstance(calls, (str, bytes, Mapping)) or not isinstance(calls, Iterable):
        raise TypeError(f"calls must be an iterable of calls, got {type(calls).__name__}")
    items = list(calls)
    for index, call in enumerate(items):
        if isinstance(call, tuple):
            _check_pair(index, call)
            method = call[0]
        elif inspect.isawaitable(call) or not callable(call):
            _close_all(items)
            raise TypeError(
                f"batch call #{index}: the blocking client takes (method, kwargs) pairs or zero-argument callables, "
                f"got {type(call).__name__} {call!r:.120} (awaitables belong to AsyncGitHubClient.batch)"
            )
        else:
            method = call
        if inspect.iscoroutinefunction(method):
            raise TypeError(f"batch call #{index}: {method!r:.120} is async; use AsyncGitHubClient.batch for it")
    run = _Run(len(items), on_progress, progress)
    try:
        if run.total:
            run.report()
        for index, call in enumerate(items):
            run.started[index] = True
            try:
                value = _start(call)
            except Exception as exc:
                run.fail(index, exc)
                if fail_fast:
                    break
            else:
                if inspect.isawaitable(value):
                    _close(value)
                    raise TypeError(f"batch call #{index} returned an awaitable; use AsyncGitHubClient.batch for it")
                run.succeed(index, value)
        return run.finish()
    finally:
        run.close()
