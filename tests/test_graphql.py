"""GraphQL through the client pipeline (the full executor is a later issue: this covers the basics)."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from githubapp import AsyncGitHubClient, GitHubClient
from githubapp.graphql import GraphQLError, graphql_url

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
