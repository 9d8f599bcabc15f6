"""GraphQL through the client pipeline: queries, mutations, errors, allow_partial, pagination, rate limits, syntax checks."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
import respx

from githubapp import AsyncGitHubClient, GitHubClient
from githubapp.errors import AsyncGitHubRateLimitError
from githubapp.graphql import (
    GraphQLData,
    GraphQLError,
    GraphQLPaginationError,
    GraphQLSyntaxError,
    analyze,
    graphql_rate_limit_error,
    graphql_url,
)

REPO = {
    "id": "R_1", "name": "hello-world", "nameWithOwner": "octocat/hello-world", "description": None,
    "url": "https://github.com/octocat/hello-world", "stargazerCount": 80, "forkCount": 9, "visibility": "PUBLIC",
    "createdAt": "2011-01-26T19:01:12Z", "updatedAt": "2011-01-26T19:14:43Z",
    "defaultBranchRef": {"name": "main"}, "primaryLanguage": None,
    "repositoryTopics": {"nodes": [{"topic": {"name": "octocat"}}, {"topic": {"name": "api"}}]},
}


@pytest.mark.anyio
async def test_graphql_posts_query_and_variables_and_returns_data() -> None:
    with respx.mock(base_url="https://api.github.com", assert_all_called=True) as mock:
        route = mock.post("/graphql").respond(200, json={"data": {"viewer": {"login": "octocat"}}})
        async with AsyncGitHubClient(token="t0ken-value-123") as gh:
            data = await gh.execute_graphql("query($n: Int) { viewer { login } }", {"n": 1})
    assert data == {"viewer": {"login": "octocat"}}
    sent = route.calls[0].request
    assert json.loads(sent.content) == {"query": "query($n: Int) { viewer { login } }", "variables": {"n": 1}}
    assert sent.headers["authorization"] == "Bearer t0ken-value-123"


@pytest.mark.anyio
async def test_graphql_errors_raise_with_partial_data() -> None:
    errors = [{"type": "NOT_FOUND", "path": ["repository"], "message": "Could not resolve to a Repository"}]
    with respx.mock(base_url="https://api.github.com") as mock:
        mock.post("/graphql").respond(200, json={"data": {"repository": None, "viewer": {"login": "x"}}, "errors": errors})
        async with AsyncGitHubClient(token="t") as gh:
            with pytest.raises(GraphQLError) as info:
                await gh.graphql("{ repository(owner: \"a\", name: \"b\") { id } viewer { login } }")
    assert info.value.errors == errors
    assert info.value.data == {"repository": None, "viewer": {"login": "x"}}
    assert "Could not resolve" in str(info.value)


@pytest.mark.anyio
async def test_repository_details_are_typed() -> None:
    with respx.mock(base_url="https://api.github.com") as mock:
        route = mock.post("/graphql").respond(200, json={"data": {"repository": REPO}})
        async with AsyncGitHubClient(token="t") as gh:
            details = await gh.get_repository_details_graphql("octocat", "hello-world")
    assert json.loads(route.calls[0].request.content)["variables"] == {"owner": "octocat", "name": "hello-world"}
    assert (details.full_name, details.stars, details.forks) == ("octocat/hello-world", 80, 9)
    assert details.default_branch == "main" and details.primary_language is None
    assert details.topics == ["octocat", "api"]
    assert details.created_at.year == 2011


def test_enterprise_graphql_url_and_sync_client() -> None:
    assert graphql_url("https://ghe.example/api/v3") == "https://ghe.example/api/graphql"
    assert graphql_url("https://api.github.com") == "https://api.github.com/graphql"
    with respx.mock(base_url="https://ghe.example") as mock:
        mock.post("/api/graphql").mock(return_value=httpx.Response(200, json={"data": {"ok": True}}))
        with GitHubClient(token="t", base_url="https://ghe.example/api/v3") as gh:
            assert gh.graphql("{ ok }") == {"ok": True}


def test_empty_query_is_rejected_before_sending() -> None:
    with GitHubClient(token="t") as gh, pytest.raises(ValueError, match="query"):
        gh.graphql("   ")


# -- the executor (issue 5) ----------------------------------------------------------------------

ISSUES_QUERY = """
query($owner: String!, $name: String!, $cursor: String) {
  repository(owner: $owner, name: $name) {
    issues(first: 2, after: $cursor) { nodes { number } pageInfo { hasNextPage endCursor } }
  }
}
"""


def issues_page(numbers: list[int], end: str | None, more: bool) -> dict[str, Any]:
    nodes = [{"number": n} for n in numbers]
    return {"data": {"repository": {"issues": {"nodes": nodes, "pageInfo": {"hasNextPage": more, "endCursor": end}}}}}


def spy_operation_ids(gh: Any) -> list[str | None]:
    """Record the ``operation_id`` of every request the client's pipeline sends."""
    seen: list[str | None] = []
    send = gh._pipeline.send

    def record(prepared: Any) -> Any:
        seen.append(prepared.operation_id)
        return send(prepared)

    gh._pipeline.send = record
    return seen


@pytest.mark.anyio
async def test_graphql_success_marks_queries_and_mutations() -> None:
    with respx.mock(base_url="https://api.github.com") as mock:
        route = mock.post("/graphql").respond(200, json={"data": {"ok": True}})
        async with AsyncGitHubClient(token="t") as gh:
            ops = spy_operation_ids(gh)
            assert await gh.graphql("{ viewer { login } }") == {"ok": True}
            assert await gh.graphql("query Q { viewer { login } }") == {"ok": True}
            await gh.graphql('mutation M($id: ID!) { addStar(input: {starrableId: $id}) { clientMutationId } }', {"id": "R_1"})
            await gh.graphql("query A { a } mutation B { b }", operation_name="B")
    assert ops == ["graphql:query", "graphql:query", "graphql:mutation", "graphql:mutation"]
    assert json.loads(route.calls[3].request.content)["operationName"] == "B"
    assert route.calls[0].request.headers["content-type"] == "application/json"


@pytest.mark.anyio
async def test_allow_partial_returns_data_with_errors() -> None:
    errors = [{"type": "FORBIDDEN", "path": ["repository", "vulnerabilityAlerts"], "message": "no access"}]
    body = {"data": {"repository": {"name": "r", "vulnerabilityAlerts": None}}, "errors": errors}
    with respx.mock(base_url="https://api.github.com") as mock:
        mock.post("/graphql").respond(200, json=body)
        async with AsyncGitHubClient(token="t") as gh:
            data = await gh.graphql("{ repository(owner: \"o\", name: \"r\") { name vulnerabilityAlerts { totalCount } } }",
                                    allow_partial=True)
            with pytest.raises(GraphQLError) as info:  # without allow_partial the same response raises
                await gh.graphql("{ x }")
    assert isinstance(data, GraphQLData) and data == body["data"]
    assert data["repository"]["name"] == "r"
    assert data.errors == errors
    assert info.value.data == body["data"] and info.value.errors[0]["type"] == "FORBIDDEN"
    assert "FORBIDDEN: no access (at repository.vulnerabilityAlerts)" in str(info.value)


@pytest.mark.anyio
async def test_allow_partial_without_any_data_still_raises_and_clean_result_has_no_errors() -> None:
    with respx.mock(base_url="https://api.github.com") as mock:
        mock.post("/graphql").mock(side_effect=[
            httpx.Response(200, json={"errors": [{"message": "Field 'x' doesn't exist on type 'Query'"}]}),
            httpx.Response(200, json={"data": {"x": 1}}),
        ])
        async with AsyncGitHubClient(token="t") as gh:
            with pytest.raises(GraphQLError, match="doesn't exist"):
                await gh.graphql("{ x }", allow_partial=True)
            clean = await gh.graphql("{ x }", allow_partial=True)
    assert clean == {"x": 1} and clean.errors == []


@pytest.mark.anyio
async def test_syntax_error_is_raised_before_any_request() -> None:
    with respx.mock(base_url="https://api.github.com", assert_all_called=False) as mock:
        route = mock.post("/graphql").respond(200, json={"data": {}})
        async with AsyncGitHubClient(token="t") as gh:
            with pytest.raises(GraphQLSyntaxError) as info:
                await gh.graphql("query {\n  viewer { login \n}")
            bad_argument = "query($cursor: String) { repository(owner: ) { id } }"  # invalid in graphql-core 3.2 and 3.3
            column = bad_argument.index(" )") + 2
            with pytest.raises(GraphQLSyntaxError, match=f"line 1, column {column}"):
                [n async for n in gh.paginate_graphql(bad_argument)]
            with pytest.raises(GraphQLSyntaxError, match="subscription operations are not supported"):
                await gh.graphql("subscription { issueUpdated { id } }")
            with pytest.raises(GraphQLSyntaxError, match="several operations"):
                await gh.graphql("query A { a } query B { b }")
            with pytest.raises(GraphQLSyntaxError, match=r"\$owner"):
                await gh.graphql("query($owner: String!, $n: Int = 3) { a }", {"n": 1})
            with pytest.raises(GraphQLSyntaxError, match=r"declare \$cursor"):
                gh.paginate_graphql("query { a }")
        assert route.call_count == 0
        assert len(mock.calls) == 0
    exc = info.value
    assert isinstance(exc, ValueError) and isinstance(exc, GraphQLError)
    assert (exc.line, exc.column) == (3, 2)
    assert "Expected Name, found <EOF>" in str(exc) and "line 3, column 2" in str(exc)
    assert exc.errors == [{"message": exc.reason, "locations": [{"line": 3, "column": 2}]}]


def test_documents_are_parsed_once() -> None:
    query = "query Cached($a: Int!) { a(n: $a) }"
    first = analyze(query)
    assert analyze(query) is first
    assert (first.kind, first.name, first.variables, first.required) == ("query", "Cached", frozenset({"a"}), frozenset({"a"}))


@pytest.mark.anyio
async def test_paginate_graphql_follows_three_pages() -> None:
    pages = {None: issues_page([1, 2], "c1", True), "c1": issues_page([3, 4], "c2", True), "c2": issues_page([5], "c3", False)}
    cursors: list[Any] = []

    def answer(request: httpx.Request) -> httpx.Response:
        variables = json.loads(request.content)["variables"]
        assert (variables["owner"], variables["name"]) == ("o", "r")
        cursors.append(variables["cursor"])
        return httpx.Response(200, json=pages[variables["cursor"]])

    with respx.mock(base_url="https://api.github.com") as mock:
        mock.post("/graphql").mock(side_effect=answer)
        async with AsyncGitHubClient(token="t") as gh:
            numbers = [n["number"] async for n in gh.paginate_graphql(ISSUES_QUERY, {"owner": "o", "name": "r"})]
            cursors_first = list(cursors)
            limited = [n["number"] async for n in gh.paginate_graphql(ISSUES_QUERY, {"owner": "o", "name": "r"}, max_items=3)]
    assert numbers == [1, 2, 3, 4, 5]
    assert cursors_first == [None, "c1", "c2"]
    assert limited == [1, 2, 3] and len(cursors) == 5  # max_items=3 stopped after the second page


def test_paginate_graphql_sync_with_edges() -> None:
    query = "query($cursor: String) { viewer { starredRepositories(after: $cursor) { edges { node { name } } pageInfo { hasNextPage endCursor } } } }"

    def page(names: list[str], end: str, more: bool) -> dict[str, Any]:
        edges = [{"node": {"name": n}} for n in names]
        return {"data": {"viewer": {"starredRepositories": {"edges": edges, "pageInfo": {"hasNextPage": more, "endCursor": end}}}}}

    with respx.mock(base_url="https://api.github.com") as mock:
        mock.post("/graphql").mock(side_effect=[httpx.Response(200, json=page(["a", "b"], "x", True)),
                                                httpx.Response(200, json=page(["c"], "y", False))])
        with GitHubClient(token="t") as gh:
            names = [n["name"] for n in gh.paginate_graphql(query, path="viewer.starredRepositories")]
    assert names == ["a", "b", "c"]


@pytest.mark.anyio
async def test_paginate_graphql_stops_when_the_cursor_does_not_advance() -> None:
    with respx.mock(base_url="https://api.github.com") as mock:
        route = mock.post("/graphql").mock(side_effect=[
            httpx.Response(200, json=issues_page([1, 2], "c1", True)),
            httpx.Response(200, json=issues_page([1, 2], "c1", True)),  # the same cursor again
            httpx.Response(200, json=issues_page([1, 2], "c1", True)),
        ])
        async with AsyncGitHubClient(token="t") as gh:
            seen: list[int] = []
            with pytest.raises(GraphQLPaginationError, match="did not advance") as info:
                async for node in gh.paginate_graphql(ISSUES_QUERY, {"owner": "o", "name": "r"}):
                    seen.append(node["number"])
    assert route.call_count == 2  # no endless loop
    assert seen == [1, 2]
    assert "'c1'" in str(info.value) and "repository.issues" in str(info.value)


@pytest.mark.anyio
async def test_paginate_graphql_names_a_missing_path_and_missing_page_info() -> None:
    with respx.mock(base_url="https://api.github.com") as mock:
        mock.post("/graphql").mock(side_effect=[
            httpx.Response(200, json=issues_page([1], None, False)),
            httpx.Response(200, json={"data": {"repository": {"issues": {"nodes": []}}}}),
        ])
        async with AsyncGitHubClient(token="t") as gh:
            with pytest.raises(GraphQLPaginationError, match=r"'pullRequests' not found in data\['repository'\] \(keys: issues\)"):
                [n async for n in gh.paginate_graphql(ISSUES_QUERY, {"owner": "o", "name": "r"}, path="repository.pullRequests")]
            with pytest.raises(GraphQLPaginationError, match="no pageInfo"):
                [n async for n in gh.paginate_graphql(ISSUES_QUERY, {"owner": "o", "name": "r"})]
        with pytest.raises(ValueError, match="path"):
            gh.paginate_graphql(ISSUES_QUERY, path="repository..issues")


# -- rate limits -------------------------------------------------------------------------------

RATE_LIMITED = {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]}


def test_rate_limit_error_primary_secondary_and_none() -> None:
    url = "https://api.github.com/graphql"
    content = json.dumps(RATE_LIMITED).encode()
    primary = graphql_rate_limit_error("POST", url, 200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000000",
                                                            "X-GitHub-Request-Id": "AB:CD"}, content)
    assert isinstance(primary, AsyncGitHubRateLimitError) and not primary.secondary
    assert primary.reset_time is not None and int(primary.reset_time.timestamp()) == 1700000000
    assert (primary.status_code, primary.request_id, primary.url) == (200, "AB:CD", url)
    assert "API rate limit exceeded" in str(primary)
    secondary = graphql_rate_limit_error("POST", url, 200, {"retry-after": "7"}, content)
    assert secondary is not None and secondary.secondary and secondary.retry_after == 7
    message = {"errors": [{"type": "RATE_LIMITED", "message": "You have exceeded a secondary rate limit."}]}
    assert graphql_rate_limit_error("POST", url, 200, {}, json.dumps(message).encode()).secondary  # type: ignore[union-attr]
    assert graphql_rate_limit_error("POST", url, 200, {"x-ratelimit-remaining": "0"}, b'{"data": {"x": 1}}') is None
    other = {"data": None, "errors": [{"type": "NOT_FOUND", "message": "RATE_LIMITED is in the text only"}]}
    assert graphql_rate_limit_error("POST", url, 200, {}, json.dumps(other).encode()) is None
    assert graphql_rate_limit_error("POST", url, 200, {}, b"RATE_LIMITED <html>") is None


@pytest.mark.anyio
async def test_rate_limited_beyond_any_wait_raises_the_rest_rate_limit_error() -> None:
    far = str(int(time.time()) + 10 * 86400)  # ten days: no pipeline waits that long
    with respx.mock(base_url="https://api.github.com") as mock:
        mock.post("/graphql").respond(200, json=RATE_LIMITED, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": far})
        async with AsyncGitHubClient(token="t") as gh:
            with pytest.raises(AsyncGitHubRateLimitError) as info:
                await gh.graphql("{ viewer { login } }")
    assert not isinstance(info.value, GraphQLError)
    assert info.value.reset_time is not None and int(info.value.reset_time.timestamp()) == int(far)


@pytest.mark.anyio
async def test_rate_limited_graphql_waits_and_retries() -> None:
    reset = str(int(time.time()) + 1)
    with respx.mock(base_url="https://api.github.com") as mock:
        route = mock.post("/graphql").mock(side_effect=[
            httpx.Response(200, json=RATE_LIMITED, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}),
            httpx.Response(200, json={"errors": [{"type": "RATE_LIMITED", "message": "secondary"}]}, headers={"retry-after": "1"}),
            httpx.Response(200, json={"data": {"viewer": {"login": "octocat"}}}),
        ])
        async with AsyncGitHubClient(token="t") as gh:
            start = time.monotonic()
            data = await gh.graphql("{ viewer { login } }")
            waited = time.monotonic() - start
    assert data == {"viewer": {"login": "octocat"}}
    assert route.call_count == 3
    assert waited >= 1.0


def test_import_of_the_client_does_not_load_graphql() -> None:
    import subprocess
    import sys

    code = ("import sys, githubapp, githubapp.client, githubapp.sync; "
            "print(sorted(m for m in sys.modules if m == 'graphql' or m.startswith(('graphql.', 'githubapp.graphql', 'githubapp.batch', 'tqdm'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
