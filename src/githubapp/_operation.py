"""What the generated methods call: operation descriptors, request building, namespace bases.

A generated method is one line: ``return await self._call(_OPERATIONS["create"], locals())``.
Everything it needs to build the request and decode the response is data on :class:`Operation`;
building is a pure function (:func:`prepare`) shared by the async and the sync client.
"""

from __future__ import annotations

import gc
import importlib
import re
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import quote

from pydantic_core import to_json

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from .client import AsyncGitHubClient
    from .sync import GitHubClient

__all__ = ["UNSET", "Operation", "PreparedRequest", "prepare", "AsyncNamespace", "SyncNamespace"]


class _Unset:
    """The default of optional parameters: "not sent" (``None`` sends JSON ``null``)."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNSET"


UNSET: Final[Any] = _Unset()

#: a segment ``quote(text, safe="")`` leaves as it is (ASCII letters, digits, ``_.-~``)
_UNRESERVED: Final = re.compile(r"[A-Za-z0-9_.~-]+")

#: names a return-type expression may use besides the models it lists
_TYPE_NAMESPACE: dict[str, Any] = {"Any": Any, "Literal": Literal, "None": None}


class Operation:
    """One REST operation, as the generator describes it (see ``templates/rest_namespace.py.j2``)."""

    __slots__ = (
        "_types",
        "accept",
        "body",
        "body_media",
        "body_mode",
        "list_key",
        "method",
        "models",
        "operation_id",
        "path",
        "query",
        "returns",
        "server",
        "template",
    )

    def __init__(
        self,
        operation_id: str,
        method: str,
        template: str,
        *,
        path: tuple[tuple[str, str, str], ...] = (),
        query: tuple[tuple[str, str, str], ...] = (),
        body: tuple[tuple[str, str], ...] = (),
        body_mode: str | None = None,
        body_media: str | None = None,
        returns: tuple[tuple[int, str], ...] = (),
        models: tuple[tuple[str, str], ...] = (),
        accept: str | None = None,
        server: str | None = None,
        list_key: str | None = None,
    ) -> None:
        self.operation_id = operation_id
        self.method = method
        self.template = template
        self.path = path
        self.query = query
        self.body = body
        self.body_mode = body_mode
        self.body_media = body_media
        self.returns = returns
        self.models = models
        self.accept = accept
        self.server = server
        self.list_key = list_key
        self._types: dict[int, Any] | None = None

    def __repr__(self) -> str:
        return f"<Operation {self.operation_id} {self.method} {self.template}>"

    def return_expression(self, status: int) -> str:
        """The generated type expression for ``status`` (falls back to the first 2xx declared)."""
        for code, expr in self.returns:
            if code == status:
                return expr
        return self.returns[0][1] if self.returns else "None"

    def return_type(self, status: int) -> Any:
        """The Python type of a ``status`` response, importing only the models it names."""
        types = self._types
        if types is None:
            # importing a model graph creates thousands of objects; a full GC pass in the middle of it
            # (~30 ms, the first call's largest single cost) finds nothing to free, so hold it off
            collecting = gc.isenabled()
            gc.disable()
            try:
                namespace = dict(_TYPE_NAMESPACE)
                for cls, module in self.models:
                    namespace[cls] = getattr(importlib.import_module(f"githubapp.models.{module}"), cls)
                types = self._types = {code: eval(expr, namespace) for code, expr in self.returns}
            finally:
                if collecting:
                    gc.enable()
        if status in types:
            return types[status]
        return next(iter(types.values()), None)

    def adapter(self, status: int) -> TypeAdapter[Any]:
        from ._decode import adapter_for

        return adapter_for(self.return_type(status))


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A request ready for the pipeline: no secrets here (auth is added by the pipeline)."""

    method: str
    url: str
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    content: bytes | None = None
    operation_id: str | None = None

    @property
    def is_write(self) -> bool:
        return self.method in ("POST", "PATCH", "PUT", "DELETE")


def prepare(op: Operation, args: Mapping[str, Any], base_url: str) -> PreparedRequest:
    """Build the request for ``op`` from a generated method's ``locals()``; fails before any I/O."""
    url = _base_for(op, base_url) + expand_path(op.template, op.path, args, op.operation_id)
    params: list[tuple[str, str]] = []
    for name, wire, style in op.query:
        value = args.get(name, UNSET)
        if value is UNSET or value is None:
            continue
        add_query(params, wire, value, style)
    headers: list[tuple[str, str]] = []
    if op.accept:
        headers.append(("Accept", op.accept))
    content = None
    if op.body_mode == "fields":
        body = {wire: jsonable(args[name]) for name, wire in op.body if args.get(name, UNSET) is not UNSET}
        content = to_json(body)
    elif op.body_mode == "data":
        data = args.get("data", UNSET)
        if data is not UNSET:
            content = encode_data(data, op.body_media)
    if content is not None and op.body_media:
        headers.append(("Content-Type", op.body_media))
    return PreparedRequest(op.method, url, tuple(params), tuple(headers), content, op.operation_id)


def expand_path(template: str, spec: tuple[tuple[str, str, str], ...], args: Mapping[str, Any], where: str) -> str:
    """Fill ``{owner}``-style placeholders with percent-encoded, type-checked values."""
    path = template
    for name, wire, kind in spec:
        value = args.get(name, UNSET)
        cls = type(value)
        if (cls is str and kind != "int") or (cls is int and kind != "str"):  # the common case, checked
            segment = path_segment(value, name, where)
        else:
            segment = path_segment(_checked_path_value(value, name, kind, where), name, where)
        path = path.replace(_BRACED.get(wire) or _braced(wire), segment)
    return path


#: ``{name}`` of each path parameter seen, made once
_BRACED: dict[str, str] = {}


def _braced(wire: str) -> str:
    braced = _BRACED[wire] = "{" + wire + "}"
    return braced


def _checked_path_value(value: Any, name: str, kind: str, where: str) -> str | int:
    """A path value of any type, checked against the parameter's kind (``str``, ``int``, ``int|str``)."""
    if value is UNSET or value is None:
        raise TypeError(f"{where}: path parameter {name!r} is required, got {value!r}")
    if isinstance(value, Enum):
        value = value.value
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == "int" and not is_int:
        raise TypeError(f"{where}: path parameter {name!r} must be int, got {type(value).__name__} {value!r}")
    if (kind == "str" and not isinstance(value, str)) or (kind == "int|str" and not (is_int or isinstance(value, str))):
        expected = kind.replace("|", " or ")
        raise TypeError(f"{where}: path parameter {name!r} must be {expected}, got {type(value).__name__} {value!r}")
    return value  # type: ignore[no-any-return]


def path_segment(value: str | int, name: str, where: str) -> str:
    """One percent-encoded path segment; ``""``, ``"."`` and ``".."`` would change the endpoint."""
    text = str(value)
    if text in ("", ".", ".."):
        raise ValueError(f"{where}: path parameter {name!r} must not be {text!r}")
    if _UNRESERVED.fullmatch(text) is not None:  # the common case: nothing to escape
        return text
    return quote(text, safe="")


def add_query(params: list[tuple[str, str]], key: str, value: Any, style: str = "form") -> None:
    """Serialize one query value the way GitHub reads it (``true``/``false``, ISO dates, lists)."""
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [query_scalar(v) for v in value]
        if style == "csv":
            params.append((key, ",".join(items)))
        else:
            params.extend((key, item) for item in items)
        return
    params.append((key, query_scalar(value)))


def query_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def jsonable(value: Any) -> Any:
    """Request values as JSON-ready data: models dump by alias, only the fields that were set."""
    from pydantic import BaseModel  # deferred: keeps importing the client cheap

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if v is not UNSET}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def encode_data(data: Any, media: str | None) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, str) and media and not media.endswith("json"):
        return data.encode()
    return to_json(jsonable(data))


def _base_for(op: Operation, base_url: str) -> str:
    """Operations on another host (release asset uploads) follow the configured GitHub instance."""
    if op.server is None:
        return base_url
    if base_url == "https://api.github.com":
        return op.server.rstrip("/")
    if base_url.endswith("/api/v3"):  # GitHub Enterprise Server
        return base_url[: -len("/api/v3")] + "/api/uploads"
    return base_url


class AsyncNamespace:
    """Base of the generated async namespaces (``gh.issues``)."""

    __slots__ = ("_client",)
    _operations: dict[str, Operation]

    def __init__(self, client: AsyncGitHubClient) -> None:
        self._client = client

    def _call(self, op: Operation, args: dict[str, Any]) -> Awaitable[Any]:
        # the client's coroutine itself (the generated method awaits it): no coroutine of its own
        return self._client._call(op, args)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {len(self._operations)} operations>"


class SyncNamespace:
    """Base of the generated blocking namespaces (``GitHubClient().issues``)."""

    __slots__ = ("_client",)
    _operations: dict[str, Operation]

    def __init__(self, client: GitHubClient) -> None:
        self._client = client

    def _call(self, op: Operation, args: dict[str, Any]) -> Any:
        return self._client._call(op, args)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {len(self._operations)} operations>"


def operation_of(method: Any) -> Operation:
    """The :class:`Operation` behind a bound generated method (``gh.issues.list_for_repo``)."""
    owner = getattr(method, "__self__", None)
    ops = getattr(owner, "_operations", None)
    name = getattr(method, "__name__", None)
    op = ops.get(name) if isinstance(ops, dict) else None
    if not isinstance(op, Operation):
        raise TypeError(f"expected a generated API method such as gh.issues.list_for_repo, got {method!r}")
    return op
