"""The webhook endpoint as a plain ASGI application: HTTP in, a verified :class:`Delivery` out.

Checks, in order, each answered without running a handler:

- not ``POST`` -> 405; ``Content-Type`` not JSON -> 400;
- body over the limit (25 MiB) -> 413, from ``Content-Length`` before reading, else while reading;
- secret not configured -> 500 (fail closed); bad or missing ``X-Hub-Signature-256`` -> 400;
- missing ``X-GitHub-Event`` -> 400; malformed JSON or not an object -> 400.

The verified delivery is handed to ``dispatch`` (see :mod:`githubapp.app.dispatch`), whose
:class:`WebhookResponse` is sent as JSON. The endpoint runs under any ASGI server, and inside
Starlette/FastAPI as a route.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .context import Delivery
from .verify import SIGNATURE_HEADER, WebhookSecretMissing, verify_signature

__all__ = ["Receive", "Scope", "Send", "WebhookEndpoint", "WebhookResponse", "error", "send_json"]

LOG = logging.getLogger("githubapp.app")

T = TypeVar("T")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class WebhookResponse:
    """The status and JSON body answered to GitHub."""

    status: int
    body: dict[str, Any]


def error(status: int, description: str) -> WebhookResponse:
    """An error answer shaped like 0.2.7's (``{"detail": {"status": "ERROR", "description": ...}}``)."""
    return WebhookResponse(status, {"detail": {"status": "ERROR", "description": description}})


class _TooLarge(Exception):
    pass


def _json_default(value: Any) -> Any:
    """Handler results that ``json`` cannot encode: models, dataclasses, dates, sets, other objects."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", by_alias=True, exclude_unset=True)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return repr(value)


async def send_json(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = json.dumps(body, default=_json_default, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body; ``None`` if the client went away; :class:`_TooLarge` past ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


#: bodies above this size are verified and decoded in a worker thread, not on the event loop
_OFFLOAD_BYTES = 1024 * 1024


async def _off_loop(size: int, func: Callable[..., T], *args: Any) -> T:
    """``func(*args)``, in a worker thread when the body is big enough to stall the event loop."""
    if size < _OFFLOAD_BYTES:
        return func(*args)
    import anyio.to_thread

    return await anyio.to_thread.run_sync(lambda: func(*args))


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class WebhookEndpoint:
    """ASGI app for ``POST`` webhook deliveries (see the module docstring).

    ``secrets()`` returns the configured secrets (``None`` = verification disabled) or raises
    :class:`WebhookSecretMissing`; ``max_body_bytes()`` the size limit; ``dispatch`` runs handlers.
    """

    def __init__(
        self,
        *,
        secrets: Callable[[], tuple[bytes, ...] | None],
        dispatch: Callable[[Delivery], Awaitable[WebhookResponse]],
        max_body_bytes: Callable[[], int],
    ) -> None:
        self._secrets = secrets
        self._dispatch = dispatch
        self._max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError(f"the webhook endpoint serves HTTP, not {scope['type']!r}")
        if scope.get("method", "GET") != "POST":
            await send_json(send, 405, {"detail": "Method Not Allowed"}, [(b"allow", b"POST")])
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        response = await self.handle(headers, receive)
        if response is not None:
            await send_json(send, response.status, response.body)

    async def handle(self, headers: dict[str, str], receive: Receive) -> WebhookResponse | None:
        """Validate one request (lower-cased ``headers``) and dispatch it; ``None`` if the client left."""
        if not _is_json(headers.get("content-type", "")):
            return error(
                400,
                "Invalid HTTP Content-Type header for JSON body (must be application/json or application/*+json).",
            )
        limit = self._max_body_bytes()
        declared = headers.get("content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                return error(400, "Invalid Content-Length header.")
            if length > limit:
                LOG.warning("webhook delivery refused: body of %d bytes is over the %d byte limit", length, limit)
                return error(413, f"Payload too large (limit {limit} bytes).")
        try:
            body = await _read_body(receive, limit)
        except _TooLarge:
            LOG.warning("webhook delivery refused: body over the %d byte limit", limit)
            return error(413, f"Payload too large (limit {limit} bytes).")
        if body is None:
            return None
        delivery_id = headers.get("x-github-delivery") or None
        try:
            secrets = self._secrets()
        except WebhookSecretMissing as exc:
            LOG.error("webhook delivery %s rejected: %s", delivery_id, exc)
            return error(500, "Webhook secret is not configured; delivery rejected.")
        if secrets is not None and not await _off_loop(
            len(body), verify_signature, body, headers.get(SIGNATURE_HEADER), secrets
        ):
            LOG.warning(
                "webhook delivery %s rejected: %s X-Hub-Signature-256",
                delivery_id,
                "invalid" if headers.get(SIGNATURE_HEADER) else "missing",
            )
            return error(400, "Invalid or missing X-Hub-Signature-256 signature.")
        event = headers.get("x-github-event", "").strip()
        if not event:
            return error(400, "Missing X-GitHub-Event header.")
        try:
            payload = await _off_loop(len(body), json.loads, body)
        except ValueError:
            return error(400, "Invalid JSON payload.")
        if not isinstance(payload, dict):
            return error(400, "Invalid JSON payload: expected an object.")
        return await self._dispatch(Delivery(event, payload, delivery_id))
