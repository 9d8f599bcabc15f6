"""Background tasks: bounded workers, a bounded queue, timeouts, retries, status, graceful drain.

Each task is an asyncio task run in the ``contextvars`` context it was submitted from (a webhook
handler's task sees its own delivery), started under a semaphore of ``max_workers``::

    manager = TaskManager(max_workers=4, timeout=60, retry_attempts=2, retry_delay=1)
    task_id = await manager.enqueue(send_report, "octocat", retries=0)
    info = manager.get(task_id)                 # TaskInfo: state, attempts, result, error
    await manager.shutdown(timeout=30)          # stop accepting, drain, cancel what is left

A task that fails (after its retries) is logged and kept in :meth:`TaskManager.failed`, never
lost silently. More than ``queue_size`` tasks waiting for a worker raise :class:`TaskQueueFull`.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
import traceback
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ._invoke import call

__all__ = ["TaskInfo", "TaskManager", "TaskQueueFull", "TaskState", "Job"]

LOG = logging.getLogger("githubapp.app")


class TaskState(StrEnum):
    """Where a background task is: waiting for a worker (or a retry), running, or done."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class TaskQueueFull(RuntimeError):
    """The background queue is full (or shutting down); the webhook answers 503."""


@dataclass(slots=True)
class TaskInfo:
    """The status of one background task (``await github_app.get_task_status(task_id)``)."""

    id: str
    name: str
    max_attempts: int
    state: TaskState = TaskState.PENDING
    attempts: int = 0
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    result: Any = None
    error: str | None = None
    traceback: str | None = field(default=None, repr=False)
    delivery_id: str | None = None
    event: str | None = None

    @property
    def done(self) -> bool:
        return self.state in (TaskState.COMPLETED, TaskState.FAILED)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary (without the result, which may not be serializable)."""
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state.value,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
            "delivery_id": self.delivery_id,
            "event": self.event,
        }


@dataclass(frozen=True, slots=True)
class Job:
    """One unit of work for :meth:`TaskManager.submit_many`."""

    func: Callable[..., Any]
    args: Sequence[Any] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None
    timeout: float | None = None
    retries: int | None = None
    delivery_id: str | None = None
    event: str | None = None


class TaskManager:
    """Runs background tasks with at most ``max_workers`` at once (see the module docstring).

    ``timeout``: seconds per attempt; ``retry_attempts``: retries after a failure, waiting
    ``retry_delay * 2**n`` seconds (at most ``max_retry_delay``); ``queue_size``: tasks allowed to
    wait for a worker; ``history_size``: finished tasks remembered (failures kept separately).
    """

    def __init__(
        self,
        *,
        max_workers: int = 10,
        timeout: float | None = 300.0,
        retry_attempts: int = 0,
        retry_delay: float = 5.0,
        max_retry_delay: float = 300.0,
        queue_size: int = 1000,
        history_size: int = 10_000,
    ) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers!r}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size!r}")
        if retry_attempts < 0:
            raise ValueError(f"retry_attempts must be >= 0, got {retry_attempts!r}")
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be > 0 or None, got {timeout!r}")
        self.max_workers = max_workers
        self.timeout = timeout
        self.retry_attempts = retry_attempts
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.queue_size = queue_size
        self._infos: dict[str, TaskInfo] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._history: OrderedDict[str, TaskInfo] = OrderedDict()
        self._history_size = history_size
        self._failed: deque[TaskInfo] = deque(maxlen=history_size)
        self._running = 0
        self._accepting = True
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self.completed_count = 0
        self.failed_count = 0

    def __repr__(self) -> str:
        return f"TaskManager(max_workers={self.max_workers}, queue_size={self.queue_size}, stats={self.stats()})"

    # -- submitting ------------------------------------------------------------------------------

    @property
    def accepting(self) -> bool:
        """``False`` after :meth:`shutdown` (until :meth:`start`)."""
        return self._accepting

    @property
    def waiting(self) -> int:
        """Tasks waiting for a worker or for their next attempt."""
        return len(self._tasks) - self._running

    def free_slots(self) -> int:
        """How many more tasks may be queued right now."""
        return max(0, self.queue_size + self.max_workers - len(self._tasks)) if self._accepting else 0

    def submit(
        self,
        func: Callable[..., Any],
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        context: contextvars.Context | None = None,
    ) -> str:
        """Queue ``func(*args, **kwargs)``; returns the task id. Needs a running event loop."""
        job = Job(func, tuple(args), dict(kwargs or {}), name, timeout, retries)
        return self.submit_many([job], context=context)[0]

    def submit_many(self, jobs: Sequence[Job], *, context: contextvars.Context | None = None) -> list[str]:
        """Queue all ``jobs`` or none (:class:`TaskQueueFull`); each runs in a copy of ``context``."""
        if not self._accepting:
            raise TaskQueueFull("the task manager is shutting down; not accepting new tasks")
        loop = asyncio.get_running_loop()
        self._bind(loop)
        if len(jobs) > self.free_slots():
            raise TaskQueueFull(
                f"background queue is full ({self.waiting} waiting, {self._running} running, "
                f"queue_size={self.queue_size}, max_workers={self.max_workers})"
            )
        base = context if context is not None else contextvars.copy_context()
        ids: list[str] = []
        for job in jobs:
            retries = self.retry_attempts if job.retries is None else job.retries
            if retries < 0:
                raise ValueError(f"retries must be >= 0, got {retries!r}")
            info = TaskInfo(
                id=uuid.uuid4().hex,
                name=str(job.name or getattr(job.func, "__name__", type(job.func).__name__)),
                max_attempts=retries + 1,
                delivery_id=job.delivery_id,
                event=job.event,
            )
            timeout = self.timeout if job.timeout is None else job.timeout
            coro = self._run(info, job.func, job.args, job.kwargs, timeout, retries)
            self._infos[info.id] = info
            self._tasks[info.id] = loop.create_task(coro, name=f"githubapp-task-{info.name}", context=base.copy())
            ids.append(info.id)
        return ids

    async def enqueue(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> str:
        """Queue ``func(*args, **kwargs)`` in the current context; returns the task id."""
        return self.submit(func, args, kwargs)

    # -- status ----------------------------------------------------------------------------------

    def get(self, task_id: str) -> TaskInfo | None:
        """The task's :class:`TaskInfo`, or ``None`` if unknown (or forgotten from the history)."""
        info = self._infos.get(task_id) or self._history.get(task_id)
        if info is None:
            info = next((i for i in self._failed if i.id == task_id), None)
        return info

    def active(self) -> list[TaskInfo]:
        """Tasks not finished yet (pending or running)."""
        return list(self._infos.values())

    def failed(self) -> list[TaskInfo]:
        """Tasks that failed after all their attempts (the most recent ``history_size``)."""
        return list(self._failed)

    def stats(self) -> dict[str, int]:
        return {
            "pending": self.waiting,
            "running": self._running,
            "completed": self.completed_count,
            "failed": self.failed_count,
        }

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Accept tasks again (after :meth:`shutdown`); called on application startup."""
        self._accepting = True

    async def join(self, timeout: float | None = None) -> bool:
        """Wait until every submitted task finished; ``False`` if ``timeout`` expired first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            tasks = [t for t in self._tasks.values() if t.get_loop() is loop]
            if not tasks:
                return True
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            await asyncio.wait(tasks, timeout=remaining)

    async def shutdown(self, timeout: float | None = 30.0) -> None:
        """Stop accepting, let running and queued tasks finish for ``timeout`` s, cancel the rest."""
        self._accepting = False
        pending = len(self._tasks)
        if pending:
            LOG.info("draining %d background task(s) (timeout %ss)", pending, timeout)
        if await self.join(timeout):
            return
        loop = asyncio.get_running_loop()
        left = [t for t in self._tasks.values() if t.get_loop() is loop]
        LOG.warning("cancelling %d background task(s) still running after the %ss drain timeout", len(left), timeout)
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)

    # -- internals -------------------------------------------------------------------------------

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Workers belong to one event loop; a new loop (tests, restarts) gets a fresh semaphore."""
        if self._loop is loop and self._semaphore is not None:
            return
        if self._loop is not None and self._loop is not loop:
            for task_id, task in list(self._tasks.items()):
                if task.get_loop() is not loop and task.get_loop().is_closed():
                    info = self._infos.get(task_id)
                    if info is not None:
                        self._finish(info, TaskState.FAILED, error="event loop closed before the task finished")
                    self._tasks.pop(task_id, None)
            self._running = sum(1 for i in self._infos.values() if i.state is TaskState.RUNNING)
        self._loop = loop
        self._semaphore = asyncio.Semaphore(self.max_workers)

    async def _run(
        self,
        info: TaskInfo,
        func: Callable[..., Any],
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        timeout: float | None,
        retries: int,
    ) -> None:
        assert self._semaphore is not None
        semaphore = self._semaphore
        error: BaseException | None = None
        try:
            for attempt in range(retries + 1):
                async with semaphore:
                    info.state = TaskState.RUNNING
                    info.attempts += 1
                    if info.started_at is None:
                        info.started_at = time.time()
                    self._running += 1
                    try:
                        async with asyncio.timeout(timeout):
                            result = await call(func, args, kwargs)
                    except TimeoutError as exc:
                        error = TimeoutError(f"timed out after {timeout:g}s")
                        error.__cause__ = exc
                    except Exception as exc:
                        error = exc
                    else:
                        self._finish(info, TaskState.COMPLETED, result=result)
                        return
                    finally:
                        self._running -= 1
                if attempt < retries:
                    delay = min(self.retry_delay * 2**attempt, self.max_retry_delay)
                    LOG.warning(
                        "background task %s (%s) attempt %d/%d failed: %s; retrying in %.3gs",
                        info.name,
                        info.id,
                        info.attempts,
                        info.max_attempts,
                        _describe(error),
                        delay,
                    )
                    info.state = TaskState.PENDING
                    await asyncio.sleep(delay)
            assert error is not None
            LOG.error(
                "background task %s (%s) failed after %d attempt(s): %s",
                info.name,
                info.id,
                info.attempts,
                _describe(error),
                exc_info=(type(error), error, error.__traceback__),
            )
            self._finish(info, TaskState.FAILED, error=_describe(error), tb=_format(error))
        except asyncio.CancelledError:  # shutdown() logs one line for all of them
            LOG.debug("background task %s (%s) cancelled before it finished", info.name, info.id)
            self._finish(info, TaskState.FAILED, error="cancelled before it finished (shutdown)")
            raise
        finally:
            self._tasks.pop(info.id, None)

    def _finish(
        self, info: TaskInfo, state: TaskState, *, result: Any = None, error: str | None = None, tb: str | None = None
    ) -> None:
        if info.done:
            return
        info.state = state
        info.finished_at = time.time()
        info.result = result
        info.error = error
        info.traceback = tb
        self._infos.pop(info.id, None)
        if state is TaskState.FAILED:
            self.failed_count += 1
            self._failed.append(info)
        else:
            self.completed_count += 1
            self._history[info.id] = info
            while len(self._history) > self._history_size:
                self._history.popitem(last=False)


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "unknown error"
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _format(error: BaseException) -> str:
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))
