"""Run the handlers of a verified delivery and shape the answer.

- a redelivered ``X-GitHub-Delivery`` id: 200 ``{"status": "DUPLICATE", "calls": {}}``, nothing runs;
- no handler: 200 ``{"status": "MISS", "calls": {}}``;
- handlers run in order; the foreground ones inline: 200 ``{"status": "HIT", "calls": {name: result}}``;
- background handlers are queued once every foreground handler succeeded: 202 with
  ``"tasks": {name: task_id}``; a full queue answers 503;
- a foreground handler that raises: 500, and the delivery id is forgotten so a redelivery runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .context import Delivery, delivery_context
from .deliveries import DeliveryLog
from .routing import HandlerRegistry, invoke
from .tasks import Job, TaskManager, TaskQueueFull
from .webhook import WebhookResponse, error

__all__ = ["Dispatcher", "STATUS_FUNC_CALLED", "STATUS_NO_FUNC_CALLED", "STATUS_DUPLICATE"]

LOG = logging.getLogger("githubapp.app")

STATUS_FUNC_CALLED = "HIT"
STATUS_NO_FUNC_CALLED = "MISS"
STATUS_DUPLICATE = "DUPLICATE"


class Dispatcher:
    """Calls the registry's handlers for each delivery (see the module docstring)."""

    def __init__(
        self,
        registry: HandlerRegistry,
        tasks: Callable[[], TaskManager],
        deliveries: Callable[[], DeliveryLog],
    ) -> None:
        self.registry = registry
        self._tasks = tasks
        self._deliveries = deliveries

    async def __call__(self, delivery: Delivery) -> WebhookResponse:
        delivery_id = delivery.delivery_id
        log = self._deliveries()
        if delivery_id is not None and not log.claim(delivery_id):
            LOG.info("webhook delivery %s (%s) already received; not processed again", delivery_id, delivery.event)
            return WebhookResponse(200, {"status": STATUS_DUPLICATE, "calls": {}, "delivery_id": delivery_id})
        try:
            response = await self._run(delivery)
        except BaseException:
            if delivery_id is not None:
                log.release(delivery_id)
            raise
        if response.status >= 500 and delivery_id is not None:
            log.release(delivery_id)  # failed: GitHub's redelivery must run the handlers again
        return response

    async def _run(self, delivery: Delivery) -> WebhookResponse:
        handlers = self.registry.match(delivery.event, delivery.action)
        if not handlers:
            return WebhookResponse(200, {"status": STATUS_NO_FUNC_CALLED, "calls": {}})
        calls: dict[str, Any] = {}
        with delivery_context(delivery):
            for handler in handlers:
                if handler.background:
                    continue
                try:
                    calls[handler.name] = await invoke(handler, delivery)
                except Exception as exc:
                    LOG.exception(
                        "webhook handler %s failed on delivery %s (%s)",
                        handler.name,
                        delivery.delivery_id,
                        delivery.event,
                    )
                    return error(500, f"Handler {handler.name!r} raised {type(exc).__name__}.")
            background = [h for h in handlers if h.background]
            if not background:
                return WebhookResponse(200, {"status": STATUS_FUNC_CALLED, "calls": calls})
            jobs = [
                Job(
                    invoke,
                    (h, delivery),
                    name=h.name,
                    timeout=h.timeout,
                    retries=h.retries,
                    delivery_id=delivery.delivery_id,
                    event=f"{delivery.event}.{delivery.action}" if delivery.action else delivery.event,
                )
                for h in background
            ]
            try:
                ids = self._tasks().submit_many(jobs)  # each task runs in a copy of this (delivery) context
            except TaskQueueFull as exc:
                LOG.error("webhook delivery %s (%s) refused: %s", delivery.delivery_id, delivery.event, exc)
                return error(503, "Background task queue is full; try again later.")
        tasks = {h.name: task_id for h, task_id in zip(background, ids, strict=True)}
        return WebhookResponse(202, {"status": STATUS_FUNC_CALLED, "calls": calls, "tasks": tasks})
