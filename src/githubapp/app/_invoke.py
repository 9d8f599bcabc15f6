"""Call a user function that may be sync or async, without blocking the event loop."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio.to_thread

__all__ = ["call"]


async def call(func: Callable[..., Any], args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None) -> Any:
    """Await ``func(*args, **kwargs)``; a sync function runs in a worker thread.

    The worker thread gets a copy of the current ``contextvars`` context, so the delivery being
    handled is visible there. A sync function that returns an awaitable has it awaited.
    """
    if inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(getattr(func, "__call__", None)):  # noqa: B004
        result = func(*args, **(kwargs or {}))
    else:
        result = await anyio.to_thread.run_sync(
            functools.partial(func, *args, **(kwargs or {})), abandon_on_cancel=True
        )
    if inspect.isawaitable(result):
        result = await result
    return result
