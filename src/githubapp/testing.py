"""Helpers for testing your own GitHub App: signed deliveries, a fake GitHub on respx, event factories.

A complete test (pytest with ``anyio``; ``respx`` is only needed for :func:`mock_installation_token`)::

    import httpx
    import pytest
    import respx

    from githubapp import GitHubApp
    from githubapp.testing import fake_payload, mock_installation_token, send_webhook
    from githubapp.webhooks import IssuesOpened

    github_app = GitHubApp(github_app_id=1, github_app_key=PEM, github_app_secret="s3cret")

    @github_app.on("issues.opened")
    async def welcome(event: IssuesOpened) -> None:
        async with github_app.async_client() as gh:
            await gh.issues.create_comment(
                event.repository.owner.login, event.repository.name, event.issue.number, body="Thanks!"
            )

    @pytest.mark.anyio
    @respx.mock
    async def test_welcome(respx_mock: respx.MockRouter) -> None:
        mock_installation_token(respx_mock, 42)
        comment = respx_mock.post("https://api.github.com/repos/octo/repo/issues/7/comments").mock(
            return_value=httpx.Response(201, json={"id": 1})
        )
        payload = fake_payload(
            "issues.opened",
            installation={"id": 42},
            repository={"name": "repo", "owner": {"login": "octo"}},
            issue={"number": 7, "title": "Bug"},
        )
        response = await send_webhook(github_app, "issues.opened", payload, secret="s3cret")
        assert response.status_code == 200
        assert comment.called

``send_webhook`` also posts to a FastAPI app with a :class:`~githubapp.GitHubApp` mounted (the
route defaults to ``/webhooks/github/``); handlers registered with ``background=True`` answer 202
at once: ``await wait_for_tasks(github_app)`` waits until they finished.

``fake_event("issues.opened", issue={"title": "Bug"})`` builds a valid typed event (the generated
model) from placeholder values, with the given fields deep-merged in.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import types
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, Union, cast, get_args, get_origin, overload

from pydantic import BaseModel, RootModel

from .app.config import DEFAULT_ROUTE
from .app.verify import sign

if TYPE_CHECKING:
    import httpx
    import respx

    from .app import GitHubApp
    from .app.tasks import TaskManager

__all__ = [
    "USER_AGENT",
    "WebhookDelivery",
    "fake_event",
    "fake_payload",
    "mock_installation_token",
    "send_webhook",
    "wait_for_tasks",
    "webhook_delivery",
]

M = TypeVar("M", bound=BaseModel)

#: the ``User-Agent`` of GitHub's webhook deliveries
USER_AGENT = "GitHub-Hookshot/githubapp-testing"

#: placeholders used by :func:`fake_payload` for required date/time fields
FAKE_DATETIME = "2024-01-01T00:00:00Z"
FAKE_DATE = "2024-01-01"


# -- deliveries ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """A signed delivery as GitHub sends it: the raw JSON ``body`` and the HTTP ``headers``."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def event(self) -> str:
        """The ``X-GitHub-Event`` header."""
        return self.headers["X-GitHub-Event"]

    @property
    def delivery_id(self) -> str:
        """The ``X-GitHub-Delivery`` header."""
        return self.headers["X-GitHub-Delivery"]


def webhook_delivery(
    event: str,
    payload: Mapping[str, Any] | BaseModel,
    *,
    secret: str | bytes,
    delivery_id: str | None = None,
) -> WebhookDelivery:
    """Build a signed delivery: ``webhook_delivery("issues.opened", payload, secret="s3cret")``.

    ``event`` is the ``X-GitHub-Event`` name, or ``"event.action"``: then ``"action"`` is set in
    the payload (a different action already there raises :class:`ValueError`). A pydantic model
    is dumped as JSON by alias (only the fields that were set). The body is signed with ``secret``
    (``X-Hub-Signature-256``); ``delivery_id`` defaults to a fresh uuid4.
    """
    name, action = _split_event(event)
    data = _payload_dict(payload)
    if action is not None:
        given = data.get("action")
        if given is not None and given != action:
            raise ValueError(
                f"event {event!r} names action {action!r} but the payload's action is {given!r}; "
                f"pass event={name!r} or make them agree"
            )
        data["action"] = action
    if isinstance(secret, str):
        key = secret.encode()
    elif isinstance(secret, bytes | bytearray):
        key = bytes(secret)
    else:
        raise TypeError(f"secret must be str or bytes, got {type(secret).__name__}: {secret!r}")
    if not key:
        raise ValueError(f"secret must not be empty (got {secret!r}): GitHub signs every delivery")
    try:
        body = json.dumps(data, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise TypeError(f"webhook payload for {event!r} is not JSON-serializable: {exc}") from exc
    if delivery_id is not None and not delivery_id:
        raise ValueError("delivery_id must not be empty (None picks a uuid4)")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-GitHub-Event": name,
        "X-GitHub-Delivery": delivery_id if delivery_id is not None else str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(key, body),
    }
    return WebhookDelivery(body=body, headers=headers)


async def send_webhook(
    app: GitHubApp | Any,
    event: str,
    payload: Mapping[str, Any] | BaseModel,
    *,
    secret: str | bytes,
    path: str | None = None,
    delivery_id: str | None = None,
) -> httpx.Response:
    """Post a signed delivery to an ASGI app in-process; returns the :class:`httpx.Response`.

    ``app`` is a :class:`~githubapp.GitHubApp` (posted to its webhook route) or any ASGI app, such
    as a FastAPI app with a GitHubApp mounted (``path`` defaults to ``/webhooks/github/``)::

        response = await send_webhook(github_app, "issues.opened", fake_payload("issues.opened"), secret="s3cret")
        assert response.status_code == 200

    No lifespan events are sent; background handlers keep running after the answer (see
    :func:`wait_for_tasks`).
    """
    import httpx

    from .app import GitHubApp

    delivery = webhook_delivery(event, payload, secret=secret, delivery_id=delivery_id)
    if isinstance(app, GitHubApp):
        asgi: Any = app.asgi_app()
        route = path or app._webhook_route
    else:
        if not callable(app):
            raise TypeError(f"app must be a GitHubApp or an ASGI application, got {type(app).__name__}: {app!r}")
        asgi = app
        route = path or DEFAULT_ROUTE
    transport = httpx.ASGITransport(app=asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.post(route, content=delivery.body, headers=delivery.headers)


async def wait_for_tasks(app: GitHubApp | TaskManager, timeout: float | None = 10.0) -> None:
    """Wait until every background task of ``app`` finished; :class:`TimeoutError` after ``timeout`` s.

    ``await wait_for_tasks(github_app)`` after :func:`send_webhook` to a ``background=True``
    handler (answered 202 before the handler ran).
    """
    from .app import GitHubApp

    manager = app.task_manager if isinstance(app, GitHubApp) else app
    if not await manager.join(timeout):
        raise TimeoutError(f"background tasks still running after {timeout}s: {manager.stats()}")


# -- a fake GitHub on respx ---------------------------------------------------------------------


def mock_installation_token(
    router: respx.MockRouter,
    installation_id: int,
    *,
    token: str = "ghs_test",
    base_url: str = "https://api.github.com",
    expires_in: timedelta = timedelta(hours=1),
) -> respx.Route:
    """Answer ``POST /app/installations/{id}/access_tokens`` with a token (201), as GitHub does.

    ``route = mock_installation_token(respx_mock, 42)``; ``route.called`` / ``route.calls`` tell
    whether (and with which app JWT) a token was minted.
    """
    import httpx

    expires_at = (datetime.now(UTC) + expires_in).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"token": token, "expires_at": expires_at, "permissions": {}, "repository_selection": "all"}
    url = f"{base_url.rstrip('/')}/app/installations/{int(installation_id)}/access_tokens"
    route: respx.Route = router.post(url).mock(return_value=httpx.Response(201, json=body))
    return route


# -- webhook event factories --------------------------------------------------------------------


@overload
def fake_event(model_or_event: type[M], /, **overrides: Any) -> M: ...
@overload
def fake_event(model_or_event: str, /, **overrides: Any) -> BaseModel: ...
def fake_event(model_or_event: type[BaseModel] | str, /, **overrides: Any) -> BaseModel:
    """A valid typed webhook event: ``fake_event("issues.opened", issue={"title": "Bug"})``.

    ``model_or_event`` is an ``"event.action"`` name (``"push"`` for events without actions) or a
    model class (``IssuesOpened``). Required fields get placeholders, ``overrides`` are deep-merged
    (see :func:`fake_payload`), then the model validates the payload: a wrong override raises
    :class:`pydantic.ValidationError`.
    """
    model = _resolve_model(model_or_event)
    return model.model_validate(fake_payload(model, **overrides))


def fake_payload(model_or_event: type[BaseModel] | str, /, **overrides: Any) -> dict[str, Any]:
    """The JSON payload :func:`fake_event` validates (not validated itself), e.g. for :func:`send_webhook`.

    Required fields get placeholders by type (1, 1.0, ``"string"``, ``False``, a fixed UTC date,
    the first literal/enum value, nested models, ``[]``, ``{}``, ``None`` when nullable);
    optional fields are left out. ``overrides`` (by field name or JSON key) are merged in: a dict
    given for a model field is merged over that model's placeholders (also for list items), other
    values replace. Values may be models, enums or dates; they are converted to JSON.
    """
    model = _resolve_model(model_or_event)
    try:
        base = _synth_model(model, (), model.__name__)
    except _Impossible as exc:
        raise TypeError(f"cannot build a placeholder payload for {model.__name__}: {exc}") from None
    return _merge_model(model, base, {key: _jsonable(value) for key, value in overrides.items()})


class _Impossible(Exception):
    """No placeholder can be built for this type (e.g. only self-referential members)."""


_MAX_DEPTH = 40


def _resolve_model(model_or_event: type[BaseModel] | str) -> type[BaseModel]:
    if isinstance(model_or_event, str):
        if not model_or_event:
            raise ValueError("event name must not be empty (e.g. 'issues.opened' or 'push')")
        from .webhooks import event_key, event_model

        return event_model(event_key(model_or_event))
    if isinstance(model_or_event, type) and issubclass(model_or_event, BaseModel):
        return model_or_event
    raise TypeError(f"expected an event name or a pydantic model class, got {model_or_event!r}")


def _synth(tp: Any, metadata: Sequence[Any], stack: tuple[type[BaseModel], ...], where: str) -> Any:
    """A placeholder JSON value of type ``tp`` (raises :class:`_Impossible`)."""
    origin = get_origin(tp)
    if origin is Annotated:
        inner, *extra = get_args(tp)
        return _synth(inner, [*metadata, *extra], stack, where)
    if tp is Any or tp is object or tp is None or tp is type(None):
        return None
    value = getattr(tp, "__value__", None)  # a PEP 695 type alias
    if value is not None and type(tp).__name__ == "TypeAliasType":
        return _synth(value, metadata, stack, where)
    if origin is Literal:
        return _jsonable(get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        members = get_args(tp)
        if type(None) in members:
            return None
        problems: list[str] = []
        for member in members:
            try:
                return _synth(member, metadata, stack, where)
            except _Impossible as exc:
                problems.append(str(exc))
        raise _Impossible("; ".join(problems))
    container = origin or tp
    if container in (list, tuple, set, frozenset) or _is_sequence(container):
        return []
    if container is dict or container is Mapping:
        return {}
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            return _jsonable(next(iter(tp)).value)
        if issubclass(tp, bool):
            return False
        if issubclass(tp, int):
            return _number(1, metadata)
        if issubclass(tp, float):
            return _number(1.0, metadata)
        if issubclass(tp, str):
            return _string(metadata)
        if issubclass(tp, datetime):
            return FAKE_DATETIME
        if issubclass(tp, dt.date):
            return FAKE_DATE
        if issubclass(tp, dt.time):
            return "00:00:00"
        if issubclass(tp, dt.timedelta):
            return "PT0S"
        if issubclass(tp, uuid.UUID):
            return "00000000-0000-4000-8000-000000000000"
        if issubclass(tp, decimal.Decimal):
            return "1"
        if issubclass(tp, bytes):
            return "bytes"
        if issubclass(tp, BaseModel):
            return _synth_model(tp, stack, where)
    raise _Impossible(f"{where}: no placeholder for type {tp!r}")


def _is_sequence(tp: Any) -> bool:
    try:
        return isinstance(tp, type) and issubclass(tp, Sequence) and not issubclass(tp, str | bytes)
    except TypeError:
        return False


def _synth_model(model: type[BaseModel], stack: tuple[type[BaseModel], ...], where: str) -> Any:
    if model in stack:
        raise _Impossible(f"{where}: {model.__name__} contains itself")
    if len(stack) >= _MAX_DEPTH:
        raise _Impossible(f"{where}: nested deeper than {_MAX_DEPTH} models")
    inner = (*stack, model)
    if issubclass(model, RootModel):
        root = model.model_fields["root"]
        return _synth(root.annotation, root.metadata, inner, where)
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if not info.is_required():
            continue
        key = info.alias or name
        out[key] = _synth(info.annotation, info.metadata, inner, f"{where}.{key}")
    return out


def _number(value: float, metadata: Sequence[Any]) -> Any:
    """``value`` moved inside the ``ge``/``gt``/``le``/``lt`` bounds of ``metadata``."""
    step = 1 if isinstance(value, int) else 0.5
    for item in metadata:
        if getattr(item, "ge", None) is not None:
            value = max(value, item.ge)
        if getattr(item, "gt", None) is not None:
            value = max(value, item.gt + step)
        if getattr(item, "le", None) is not None:
            value = min(value, item.le)
        if getattr(item, "lt", None) is not None:
            value = min(value, item.lt - step)
    return value


def _string(metadata: Sequence[Any]) -> str:
    text = "string"
    for item in metadata:
        low = getattr(item, "min_length", None)
        high = getattr(item, "max_length", None)
        if low is not None and len(text) < low:
            text = text + "x" * (low - len(text))
        if high is not None and len(text) > high:
            text = text[:high]
    return text


def _jsonable(value: Any) -> Any:
    """``value`` as JSON data: models dumped by alias, enums by value, dates as ISO strings."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    return value


def _first_in(tp: Any, leaf: Callable[[Any], type[BaseModel] | None]) -> type[BaseModel] | None:
    """``leaf`` of ``tp``, looking through ``Annotated`` and into union members (the first found)."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _first_in(get_args(tp)[0], leaf)
    if origin is Union or origin is types.UnionType:
        for member in get_args(tp):
            found = _first_in(member, leaf)
            if found is not None:
                return found
        return None
    return leaf(tp)


def _model_in(tp: Any) -> type[BaseModel] | None:
    """The (first) non-root model class in ``tp`` (through ``Annotated`` and unions), if any."""
    return _first_in(tp, lambda t: t if isinstance(t, type) and issubclass(t, BaseModel) and not issubclass(t, RootModel) else None)


def _item_model(tp: Any) -> type[BaseModel] | None:
    """For ``list[Model]`` (possibly optional): ``Model``."""

    def item(t: Any) -> type[BaseModel] | None:
        origin = get_origin(t)
        if origin in (list, tuple, set, frozenset) or (origin is not None and _is_sequence(origin)):
            args = get_args(t)
            return _model_in(args[0]) if args else None
        return None

    return _first_in(tp, item)


def _merge_model(model: type[BaseModel], base: Any, overrides: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = dict(base) if isinstance(base, Mapping) else {}
    fields: dict[str, tuple[str, Any]] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        fields[name] = fields[key] = (key, info.annotation)
    for given, value in overrides.items():
        key, annotation = fields.get(given, (given, None))
        current = out.get(key)
        out[key] = _merge_value(annotation, current, value, key in out)
    return out


def _merge_value(annotation: Any, current: Any, value: Any, present: bool) -> Any:
    if isinstance(value, Mapping):
        model = _model_in(annotation) if annotation is not None else None
        if model is not None:
            base = current if isinstance(current, Mapping) else _placeholder(model)
            return _merge_model(model, base, value)
        if isinstance(current, Mapping):
            return _merge_plain(current, value)
        return dict(value)
    if isinstance(value, list) and annotation is not None:
        item = _item_model(annotation)
        if item is not None:
            return [_merge_model(item, _placeholder(item), v) if isinstance(v, Mapping) else v for v in value]
    return value


def _merge_plain(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        current = out.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            out[key] = _merge_plain(current, value)
        else:
            out[key] = value
    return out


def _placeholder(model: type[BaseModel]) -> dict[str, Any]:
    try:
        value = _synth_model(model, (), model.__name__)
    except _Impossible:
        return {}
    return cast("dict[str, Any]", value) if isinstance(value, dict) else {}


def _split_event(event: str) -> tuple[str, str | None]:
    if not isinstance(event, str) or not event.strip():
        raise ValueError(f"event must be a non-empty event name such as 'issues' or 'issues.opened', got {event!r}")
    name, dot, action = event.partition(".")
    if not name or (dot and not action):
        raise ValueError(f"event must look like 'issues' or 'issues.opened', got {event!r}")
    return name, (action if dot else None)


def _payload_dict(payload: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    if isinstance(payload, BaseModel):
        dumped = payload.model_dump(mode="json", by_alias=True, exclude_unset=True)
        if not isinstance(dumped, dict):
            raise TypeError(
                f"webhook payload must be a JSON object, got {type(payload).__name__} dumping to {dumped!r}"
            )
        return dumped
    if isinstance(payload, Mapping):
        return dict(payload)
    raise TypeError(f"webhook payload must be a mapping or a pydantic model, got {type(payload).__name__}: {payload!r}")
