"""GraphQL over the same pipeline as REST: request building, checks and response decoding (no I/O here).

    data = await gh.graphql(
        "query($o: String!, $r: String!) { repository(owner: $o, name: $r) { stargazerCount } }",
        {"o": "octocat", "r": "hello-world"},
    )
    partial = await gh.graphql(query, allow_partial=True)     # GraphQLData: the data, plus .errors
    async for issue in gh.paginate_graphql(ISSUES_QUERY, {"owner": "o", "name": "r"}, path="repository.issues"):
        print(issue["number"])
    details = await gh.get_repository_details_graphql("octocat", "hello-world")   # -> RepositoryDetails

- The query is parsed (with graphql-core) before anything is sent: a syntax error raises
  :class:`GraphQLSyntaxError` with the parser's message, line and column; so does a missing required
  variable or an ambiguous operation.
- Requests carry ``operation_id`` ``"graphql:query"`` or ``"graphql:mutation"``: the pipeline treats
  mutations as writes (write spacing, no retry after a timeout or a 5xx).
- A response with ``errors`` raises :class:`GraphQLError` carrying ``.errors`` and the partial ``.data``;
  ``allow_partial=True`` returns :class:`GraphQLData` (the data, with ``.errors``) instead.
- ``RATE_LIMITED`` errors become :class:`~githubapp.errors.AsyncGitHubRateLimitError`
  (:func:`graphql_rate_limit_error`), which the pipeline waits on and retries like a REST rate limit.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

from ._operation import PreparedRequest
from .errors import _SECONDARY, AsyncGitHubRateLimitError, GitHubError, parse_retry_after

__all__ = [
    "GraphQLError",
    "GraphQLSyntaxError",
    "GraphQLPaginationError",
    "GraphQLData",
    "GraphQLOperation",
    "GraphQLPageWalker",
    "RepositoryDetails",
    "REPOSITORY_DETAILS_QUERY",
    "analyze",
    "graphql_url",
    "graphql_request",
    "graphql_data",
    "graphql_result",
    "graphql_rate_limit_error",
]

OperationKind = Literal["query", "mutation"]


class GraphQLError(GitHubError):
    """GitHub answered a GraphQL request with ``errors`` (each a dict with ``type``, ``path``, ``message``).

    ``.data`` is the partial data GitHub sent alongside (``None`` when it sent none).
    """

    def __init__(self, errors: list[dict[str, Any]], data: Any = None) -> None:
        self.errors = errors
        self.data = data
        messages = "; ".join(_describe_error(e) for e in errors[:3])
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(f"GraphQL error: {messages}{more}")


def _describe_error(error: Any) -> str:
    if not isinstance(error, Mapping):
        return str(error)
    text = str(error.get("message", error))
    kind, path = error.get("type"), error.get("path")
    if kind:
        text = f"{kind}: {text}"
    if path:
        text += f" (at {'.'.join(str(p) for p in path)})"
    return text


class GraphQLSyntaxError(GraphQLError, ValueError):
    """The query is not a valid GraphQL document; raised before anything is sent.

    ``.line`` / ``.column`` (1-based, ``None`` when not about a position) locate the problem.
    """

    def __init__(self, message: str, query: str, line: int | None = None, column: int | None = None) -> None:
        self.query = query
        self.line = line
        self.column = column
        self.reason = message
        error: dict[str, Any] = {"message": message}
        if line is not None and column is not None:
            error["locations"] = [{"line": line, "column": column}]
        GitHubError.__init__(self, _syntax_message(message, query, line, column))
        self.errors = [error]
        self.data = None


def _syntax_message(message: str, query: str, line: int | None, column: int | None) -> str:
    if line is None or column is None:
        return f"invalid GraphQL query: {message}"
    lines = query.splitlines() or [""]
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    return f"invalid GraphQL query at line {line}, column {column}: {message}\n    {source}\n    {' ' * (column - 1)}^"


class GraphQLPaginationError(GitHubError):
    """``paginate_graphql`` cannot go on: bad path, missing ``pageInfo``, or a cursor that does not advance."""


class GraphQLData(dict[str, Any]):
    """The ``data`` of a response (a dict), with the ``errors`` GitHub sent alongside (``allow_partial=True``).

        data = await gh.graphql(query, allow_partial=True)
        if data.errors:
            log.warning("partial result: %s", data.errors)
    """

    def __init__(self, data: Mapping[str, Any], errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(data)
        self.errors: list[dict[str, Any]] = list(errors or [])


# -- the document ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GraphQLOperation:
    """What the client needs from a parsed document: the operation's kind, name and variables."""

    kind: OperationKind
    name: str | None
    variables: frozenset[str]
    required: frozenset[str]

    @property
    def operation_id(self) -> str:
        return f"graphql:{self.kind}"


def analyze(query: str, operation_name: str | None = None) -> GraphQLOperation:
    """Parse ``query`` and pick the operation to run; raises :class:`GraphQLSyntaxError` when invalid.

    Cached per (query, operation name): repeated queries (pages, batches) are parsed once.
    """
    if not isinstance(query, str) or not query.strip():
        raise GraphQLSyntaxError(f"query must be a non-empty GraphQL document, got {query!r}", str(query))
    if operation_name is not None and not isinstance(operation_name, str):
        raise TypeError(f"operation_name must be a str or None, got {operation_name!r}")
    return _analyze(query, operation_name)


@functools.lru_cache(maxsize=512)
def _analyze(query: str, operation_name: str | None) -> GraphQLOperation:
    from graphql import GraphQLSyntaxError as ParserError  # deferred: graphql-core costs ~40 ms to import
    from graphql.language import NonNullTypeNode, OperationDefinitionNode, parse

    try:
        document = parse(query, no_location=False)
    except ParserError as exc:
        where = exc.locations[0] if exc.locations else None
        raise GraphQLSyntaxError(
            exc.message, query, where.line if where else None, where.column if where else None
        ) from None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if not operations:
        raise GraphQLSyntaxError("the document defines no operation (only fragments?)", query)
    if operation_name is not None:
        chosen = [op for op in operations if op.name is not None and op.name.value == operation_name]
        if not chosen:
            names = ", ".join(op.name.value if op.name else "<anonymous>" for op in operations)
            raise GraphQLSyntaxError(f"no operation named {operation_name!r} in the document (it has: {names})", query)
        op = chosen[0]
    elif len(operations) > 1:
        names = ", ".join(op.name.value if op.name else "<anonymous>" for op in operations)
        raise GraphQLSyntaxError(f"the document has several operations ({names}): pass operation_name=", query)
    else:
        op = operations[0]
    kind = op.operation.value
    if kind not in ("query", "mutation"):
        line, column = _position(op)
        raise GraphQLSyntaxError(f"{kind} operations are not supported over HTTP; use a query or a mutation", query, line, column)
    declared = op.variable_definitions or ()
    return GraphQLOperation(
        kind="mutation" if kind == "mutation" else "query",
        name=op.name.value if op.name else None,
        variables=frozenset(v.variable.name.value for v in declared),
        required=frozenset(
            v.variable.name.value for v in declared if isinstance(v.type, NonNullTypeNode) and v.default_value is None
        ),
    )


def _position(node: Any) -> tuple[int | None, int | None]:
    loc = getattr(node, "loc", None)
    if loc is None:
        return None, None
    token = loc.start_token
    return token.line, token.column


# -- requests ----------------------------------------------------------------------------------


def graphql_url(base_url: str) -> str:
    """``https://api.github.com`` -> ``.../graphql``; GHES ``https://h/api/v3`` -> ``https://h/api/graphql``."""
    if base_url.endswith("/api/v3"):
        return base_url[: -len("/v3")] + "/graphql"
    return base_url + "/graphql"


def graphql_request(
    base_url: str, query: str, variables: Mapping[str, Any] | None, operation_name: str | None = None
) -> PreparedRequest:
    """The POST for ``query`` after checking it (syntax, operation, required variables); no I/O."""
    operation = analyze(query, operation_name)
    if variables is not None and not isinstance(variables, Mapping):
        raise TypeError(f"variables must be a mapping or None, got {type(variables).__name__} {variables!r}")
    given = variables or {}
    missing = sorted(name for name in operation.required if given.get(name) is None)
    if missing:
        raise GraphQLSyntaxError(
            "required variable(s) not provided: " + ", ".join(f"${name}" for name in missing), query
        )
    body: dict[str, Any] = {"query": query}
    if given:
        body["variables"] = dict(given)
    if operation_name is not None:
        body["operationName"] = operation_name
    return PreparedRequest(
        "POST", graphql_url(base_url), (), (("Content-Type", "application/json"),), to_json(body), operation.operation_id
    )


# -- responses ---------------------------------------------------------------------------------


def _payload(content: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(content)
    except ValueError:
        raise GraphQLError([{"message": f"response is not JSON: {content[:200]!r}"}]) from None
    if not isinstance(payload, dict):
        raise GraphQLError([{"message": f"unexpected GraphQL response: {payload!r:.200}"}])
    return payload


def graphql_data(content: bytes, *, allow_partial: bool = False) -> Any:
    """The ``data`` of a GraphQL response; raises :class:`GraphQLError` when it has ``errors``.

    With ``allow_partial`` a response with errors *and* data returns :class:`GraphQLData`
    (errors without any data still raise: there is nothing partial to return).
    """
    payload = _payload(content)
    errors = payload.get("errors")
    data = payload.get("data")
    if errors:
        errors = list(errors) if isinstance(errors, list) else [{"message": str(errors)}]
        if allow_partial and isinstance(data, Mapping):
            return GraphQLData(data, errors)
        raise GraphQLError(errors, data)
    if allow_partial:
        return GraphQLData(data if isinstance(data, Mapping) else {})
    return data


def graphql_result(
    request: PreparedRequest, status: int, headers: Mapping[str, str], content: bytes, *, allow_partial: bool = False
) -> Any:
    """Decode a 2xx GraphQL response; a ``RATE_LIMITED`` one raises the rate-limit error."""
    limited = graphql_rate_limit_error(request.method, request.url, status, headers, content)
    if limited is not None:
        raise limited
    return graphql_data(content, allow_partial=allow_partial)


def graphql_rate_limit_error(
    method: str, url: str, status: int, headers: Mapping[str, str], content: bytes
) -> AsyncGitHubRateLimitError | None:
    """The rate-limit error for a GraphQL response whose ``errors`` include ``type: "RATE_LIMITED"``, else None.

    A pure function the pipeline's classify stage calls for GraphQL requests. As for REST
    (:func:`~githubapp.errors.error_for_response`): ``x-ratelimit-remaining: 0`` without
    ``retry-after`` is the primary limit (``reset_time`` from ``x-ratelimit-reset``); anything else
    is a secondary limit (``retry_after`` from ``retry-after``, ``None`` when absent).
    """
    if b"RATE_LIMITED" not in content:  # fast path: no JSON parsing for ordinary responses
        return None
    try:
        payload = json.loads(content)
    except ValueError:
        return None
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list):
        return None
    limited = [e for e in errors if isinstance(e, Mapping) and e.get("type") == "RATE_LIMITED"]
    if not limited:
        return None
    message = str(limited[0].get("message") or "GraphQL rate limit exceeded")
    lower = {k.lower(): v for k, v in headers.items()}
    context: dict[str, Any] = {
        "method": method,
        "url": url,
        "request_id": lower.get("x-github-request-id"),
        "headers": lower,
    }
    retry_after = parse_retry_after(lower.get("retry-after"))
    if lower.get("x-ratelimit-remaining") == "0" and retry_after is None and not _SECONDARY.search(message):
        reset = lower.get("x-ratelimit-reset")
        reset_time = datetime.fromtimestamp(int(reset), UTC) if reset and reset.isdigit() else None
        return AsyncGitHubRateLimitError(message, status, payload, reset_time=reset_time, **context)
    return AsyncGitHubRateLimitError(message, status, payload, retry_after=retry_after, secondary=True, **context)


# -- pagination --------------------------------------------------------------------------------


class GraphQLPageWalker:
    """Sans-I/O walk over a connection: send :attr:`request`, :meth:`feed` the response body, repeat until None.

    The query must declare ``$cursor`` (``String``) and pass it as ``after: $cursor`` to the
    connection at ``path``, which must select ``pageInfo { hasNextPage endCursor }`` and
    ``nodes`` (or ``edges { node }``).
    """

    def __init__(
        self,
        base_url: str,
        query: str,
        variables: Mapping[str, Any] | None,
        path: str,
        *,
        operation_name: str | None = None,
        max_items: int | None = None,
    ) -> None:
        if max_items is not None and (isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 0):
            raise ValueError(f"max_items must be a non-negative int or None, got {max_items!r}")
        if not isinstance(path, str) or not path or any(not part for part in path.split(".")):
            raise ValueError(f"path must be dotted field names such as 'repository.issues', got {path!r}")
        operation = analyze(query, operation_name)
        if "cursor" not in operation.variables:
            raise GraphQLSyntaxError(
                "paginate_graphql needs the query to declare $cursor (e.g. `query($cursor: String) "
                "{ ... issues(first: 100, after: $cursor) { ... } }`)",
                query,
            )
        self.base_url = base_url
        self.query = query
        self.operation_name = operation_name
        self.variables = dict(variables or {})
        self.path = path
        self.keys = tuple(path.split("."))
        self.cursor: str | None = self.variables.get("cursor")
        self.remaining = max_items
        self.pages = 0
        self.request: PreparedRequest | None = self._request() if max_items != 0 else None

    def _request(self) -> PreparedRequest:
        return graphql_request(self.base_url, self.query, {**self.variables, "cursor": self.cursor}, self.operation_name)

    def feed(self, content: bytes, status: int = 200, headers: Mapping[str, str] | None = None) -> list[Any]:
        """The nodes of one page (trimmed to ``max_items``); sets up the next request or ends the walk."""
        assert self.request is not None, "feed() after the walk ended"
        data = graphql_result(self.request, status, headers or {}, content)
        connection = self._connection(data)
        nodes = _nodes(connection, self.path)
        page_info = connection.get("pageInfo")
        if not isinstance(page_info, Mapping) or "hasNextPage" not in page_info or "endCursor" not in page_info:
            raise GraphQLPaginationError(
                f"the connection at {self.path!r} has no pageInfo {{ hasNextPage endCursor }}: select it in the query"
            )
        self.pages += 1
        if self.remaining is not None:
            nodes = nodes[: self.remaining]
            self.remaining -= len(nodes)
        if not page_info["hasNextPage"] or self.remaining == 0:
            self.request = None
            return nodes
        end = page_info["endCursor"]
        if end is None or end == self.cursor:
            raise GraphQLPaginationError(
                f"the cursor at {self.path!r} did not advance (page {self.pages} ended at {end!r} with hasNextPage "
                "true): does the connection use `after: $cursor`?"
            )
        self.cursor = end
        self.request = self._request()
        return nodes

    def _connection(self, data: Any) -> Mapping[str, Any]:
        value = data
        for depth, key in enumerate(self.keys):
            where = "data" + "".join(f"[{k!r}]" for k in self.keys[:depth])
            if not isinstance(value, Mapping):
                raise GraphQLPaginationError(f"path {self.path!r}: {where} is {_kind(value)}, not an object")
            if key not in value:
                keys = ", ".join(map(str, value)) or "none"
                raise GraphQLPaginationError(f"path {self.path!r}: {key!r} not found in {where} (keys: {keys})")
            value = value[key]
        if not isinstance(value, Mapping):
            raise GraphQLPaginationError(f"path {self.path!r}: the connection is {_kind(value)}, not an object")
        return value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _nodes(connection: Mapping[str, Any], path: str) -> list[Any]:
    nodes = connection.get("nodes")
    if isinstance(nodes, Sequence) and not isinstance(nodes, str):
        return list(nodes)
    edges = connection.get("edges")
    if isinstance(edges, Sequence) and not isinstance(edges, str):
        return [edge.get("node") if isinstance(edge, Mapping) else edge for edge in edges]
    raise GraphQLPaginationError(f"the connection at {path!r} selects neither `nodes` nor `edges {{ node }}`")


# -- typed helpers -----------------------------------------------------------------------------


REPOSITORY_DETAILS_QUERY = """
query RepositoryDetails($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    id name nameWithOwner description url stargazerCount forkCount visibility createdAt updatedAt
    defaultBranchRef { name }
    primaryLanguage { name }
    repositoryTopics(first: 100) { nodes { topic { name } } }
  }
}
"""


class RepositoryDetails(BaseModel):
    """The repository facts ``get_repository_details_graphql`` returns."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, defer_build=True)

    id: str
    name: str
    full_name: str = Field(alias="nameWithOwner")
    description: str | None = None
    url: str
    stars: int = Field(alias="stargazerCount")
    forks: int = Field(alias="forkCount")
    default_branch: str | None = None
    primary_language: str | None = None
    topics: list[str] = Field(default_factory=list)
    visibility: str
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")

    @classmethod
    def from_data(cls, data: Any) -> RepositoryDetails:
        repo = (data or {}).get("repository")
        if repo is None:
            raise GraphQLError([{"type": "NOT_FOUND", "message": "repository not found"}], data)
        flat = dict(repo)
        flat["default_branch"] = (repo.get("defaultBranchRef") or {}).get("name")
        flat["primary_language"] = (repo.get("primaryLanguage") or {}).get("name")
        flat["topics"] = [n["topic"]["name"] for n in (repo.get("repositoryTopics") or {}).get("nodes") or []]
        return cls.model_validate(flat)
