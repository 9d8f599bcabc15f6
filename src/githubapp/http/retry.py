"""Retry decisions: plain functions of the request, the outcome and the attempt number.

    is_write(prepared)                         # POST/PATCH/PUT/DELETE, GraphQL mutations
    may_retry(write=True, outcome="not_sent")  # True: the request provably did no work
    backoff_delay(2, base=2.0, cap=60.0, rand=0.5)

A write is retried only when it provably did no work: a connection that was never made, or an
explicit rate-limit rejection. Never after a timeout, a dropped connection or a 5xx.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import httpx

if TYPE_CHECKING:
    from .._operation import PreparedRequest

__all__ = ["Outcome", "RETRY_STATUSES", "is_write", "transport_outcome", "may_retry", "backoff_delay"]

#: what happened to one attempt, as far as retrying is concerned
Outcome = Literal["not_sent", "unknown", "server_error"]

#: statuses retried for reads (a write may have been processed before the error)
RETRY_STATUSES = frozenset({500, 502, 503, 504})

_WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
#: transport errors raised before any byte of the request reached the server
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def is_write(prepared: PreparedRequest) -> bool:
    """Does this request change state? (GraphQL queries are POSTs that do not.)"""
    if prepared.operation_id == "graphql:query":
        return False
    return prepared.method in _WRITE_METHODS


def transport_outcome(exc: httpx.HTTPError) -> Outcome:
    """``not_sent`` when the connection was never made; ``unknown`` when the server may have acted."""
    return "not_sent" if isinstance(exc, _NOT_SENT) else "unknown"


def may_retry(*, write: bool, outcome: Outcome) -> bool:
    """Reads retry every transient failure; writes only what provably did no work."""
    return outcome == "not_sent" or not write


def backoff_delay(attempt: int, *, base: float, cap: float, rand: float) -> float:
    """Seconds before retry number ``attempt + 1``: ``base * 2**attempt``, jittered to 50-100 %, capped.

    ``rand`` is a number in ``[0, 1)`` (``random.random()``), passed in so the function stays pure.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt!r}")
    try:
        raw = math.ldexp(base, attempt)  # base * 2**attempt, exact
    except OverflowError:  # beyond float range: the cap decides
        raw = math.inf
    return min(cap, raw * (0.5 + rand / 2))
