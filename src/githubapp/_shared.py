"""What the async and the blocking client share: settings, request building, decoding, paging.

Everything here is a plain function of data; the clients only add I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from ._operation import UNSET, Operation, PreparedRequest, add_query, jsonable, operation_of, path_segment, prepare
from .auth import Auth, TokenAuth
from .config import ClientConfig
from .errors import GitHubError

__all__ = ["resolve_settings", "call_request", "decode_response", "raw_request", "page_items", "next_link"]

_PLACEHOLDER = re.compile(r"{([^}]+)}")
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([^",;]+)"?')


def resolve_settings(
    token: str | None, base_url: str | None, config: ClientConfig | None, auth: Auth | None, settings: Mapping[str, Any]
) -> tuple[ClientConfig, Auth | None]:
    """Merge constructor arguments into one validated config and the credential."""
    config = config or ClientConfig()
    changes = dict(settings)
    if base_url is not None:
        changes["base_url"] = base_url
    if changes:
        config = config.replace(**changes)
    if token is not None and auth is not None:
        raise TypeError("pass either token= or auth=, not both")
    return config, (TokenAuth(token) if token is not None else auth)


def call_request(method: Any, args: tuple[Any, ...], kwargs: dict[str, Any], base_url: str) -> tuple[Operation, PreparedRequest]:
    """Prepare a call of a generated method given as a value (used by ``paginate``)."""
    op = operation_of(method)
    names = [name for name, _, _ in op.path]
    if len(args) > len(names):
        raise TypeError(f"{op.operation_id}: takes {len(names)} positional path parameter(s), got {len(args)}")
    values = dict(zip(names, args, strict=False))
    known = set(names) | {n for n, _, _ in op.query} | {n for n, _ in op.body} | ({"data"} if op.body_mode == "data" else set())
    for key, value in kwargs.items():
        if key not in known:
            raise TypeError(f"{op.operation_id}: unexpected keyword argument {key!r}")
        if key in values:
            raise TypeError(f"{op.operation_id}: got multiple values for argument {key!r}")
        values[key] = value
    return op, prepare(op, values, base_url)


def decode_response(op: Operation, response: httpx.Response, config: ClientConfig) -> Any:
    """The typed value of a successful response: ``None`` for 204, ``bytes`` for raw media."""
    status = response.status_code
    expr = op.return_expression(status)
    if expr == "None" or status == 204:
        return None
    if expr == "bytes":
        return response.content
    content = response.content
    if not content:
        return None
    decode_json = _DECODE_JSON
    if decode_json is None:  # deferred: pydantic's validators load on the first typed call
        decode_json = _load_decode_json()
    return decode_json(op.return_type(status), content, op.operation_id, strict=config.validation == "strict")


#: ``_decode.decode_json`` once :func:`decode_response` first needed it (imported then, not per call)
_DECODE_JSON: Callable[..., Any] | None = None


def _load_decode_json() -> Callable[..., Any]:
    global _DECODE_JSON
    from ._decode import decode_json

    _DECODE_JSON = decode_json
    return decode_json


def raw_request(
    config: ClientConfig,
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | None,
    json: Any,
    headers: Mapping[str, str] | None,
    content: bytes | None,
    fields: dict[str, Any],
) -> PreparedRequest:
    """``request("GET", "/repos/{owner}/{repo}", owner=..., repo=...)`` -> a prepared request.

    Placeholders are filled (percent-encoded) from ``fields``; the other fields go to the query
    for GET/HEAD/DELETE and to the JSON body otherwise.
    """
    method = method.upper()
    fields = dict(fields)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in fields or fields[name] is None:
            raise TypeError(f"{method} {url}: missing value for URL placeholder {name!r}")
        value = fields.pop(name)
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise TypeError(f"{method} {url}: URL placeholder {name!r} must be str or int, got {type(value).__name__} {value!r}")
        return path_segment(value, name, f"{method} {url}")

    path = _PLACEHOLDER.sub(fill, url)
    if not path.startswith(("http://", "https://")):
        path = config.base_url + ("" if path.startswith("/") else "/") + path
    elif _origin(path) not in _trusted_origins(config.base_url):
        raise ValueError(
            f"{method} {url}: {_origin(path)[1]} is not the configured GitHub instance "
            f"({_origin(config.base_url)[1]}); refusing to send its credentials there"
        )
    query: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if value is not None and value is not UNSET:
            add_query(query, key, value)
    body: Any = UNSET if json is None else json
    if fields:
        if method in ("GET", "HEAD", "DELETE") and content is None and body is UNSET:
            for key, value in fields.items():
                if value is not None and value is not UNSET:
                    add_query(query, key, value)
        else:
            body = {**(body if isinstance(body, dict) else {}), **fields}
    out_headers = dict(headers or {})
    if body is not UNSET:
        if content is not None:
            raise TypeError("pass either json/fields or content, not both")
        from pydantic_core import to_json

        content = to_json(jsonable(body))
        out_headers.setdefault("Content-Type", "application/json")
    return PreparedRequest(method, path, tuple(query), tuple(out_headers.items()), content)


def page_items(op: Operation, value: Any) -> list[Any]:
    """The items of one page: the list itself, or the list inside a ``{"total_count", key: [...]}`` wrapper."""
    if isinstance(value, list):
        return value
    if op.list_key is None or value is None:
        raise TypeError(f"{op.operation_id} does not return a list; it cannot be paginated")
    items = value.get(op.list_key) if isinstance(value, dict) else getattr(value, op.list_key, None)
    return list(items or [])


def next_link(headers: Mapping[str, str], base_url: str) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header, refusing links to another origin."""
    header = headers.get("link")
    if not header:
        return None
    for url, rel in _LINK.findall(header):
        if rel.strip() == "next":
            if _origin(url) != _origin(base_url):
                raise GitHubError(f"pagination link {url!r} leaves {_origin(base_url)}; not following it with your credentials")
            return str(url)
    return None


def _trusted_origins(base_url: str) -> set[tuple[str, str]]:
    """Where the client's credentials may go: the API host, and GitHub.com's uploads host."""
    trusted = {_origin(base_url)}
    if _origin(base_url) == ("https", "api.github.com"):
        trusted.add(("https", "uploads.github.com"))
    return trusted


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def next_request(previous: PreparedRequest, url: str) -> PreparedRequest:
    """The request for the next page: same headers, the server's URL (which carries the query)."""
    return PreparedRequest("GET", url, (), previous.headers, None, previous.operation_id)
