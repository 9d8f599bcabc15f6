"""Installation clients from handlers, against a respx-mocked GitHub API.

Tokens are minted once per installation (cached), the app's JWT follows DESIGN.md, every
installation client shares one connection pool, and the 0.2.7 helpers (``client()``,
``get_access_token``, ``list_installations``) keep their contracts and exception classes.
"""

from __future__ import annotations

import json
import logging
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
import respx
from fastapi import FastAPI

from githubapp import AsyncGitHubClient, GitHubApp, GitHubClient
from githubapp.app import sign
from githubapp.app.context import Delivery, delivery_context
from githubapp.core import (
    GitHubAppBadCredentials,
    GitHubAppError,
    GithubAppUnkownObject,
    GithubUnauthorized,
    InstallationAuthorization,
)

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::githubapp.errors.SpecDriftWarning")]

API = "https://api.github.com"
SECRET = "clients-secret"
APP_ID = 4242


@pytest.fixture(scope="module")
def private_key(rsa_key: Any, rsa_pem: str) -> tuple[str, Any]:
    return rsa_pem, rsa_key.public_key()


def token_json(token: str, minutes: int = 60) -> dict[str, Any]:
    expires = (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"token": token, "expires_at": expires, "permissions": {"issues": "write"}, "repository_selection": "all"}


def comment_json(body: str) -> dict[str, Any]:
    return {"id": 1, "body": body, "html_url": "https://github.com/octo/repo/issues/7#issuecomment-1"}


def make(pem: str, **kwargs: Any) -> tuple[FastAPI, GitHubApp]:
    app = FastAPI()
    app.config = {"GITHUBAPP_CLIENT_WRITE_SPACING": "0"}  # type: ignore[attr-defined]
    return app, GitHubApp(app, github_app_id=APP_ID, github_app_key=pem, github_app_secret=SECRET, **kwargs)


def issue(installation: int | None, number: int = 7) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "action": "opened",
        "issue": {"number": number},
        "repository": {"name": "repo", "owner": {"login": "octo"}},
    }
    if installation is not None:
        payload["installation"] = {"id": installation}
    return payload


async def post(app: Any, payload: dict[str, Any], event: str = "issues") -> httpx.Response:
    body = json.dumps(payload).encode()
    h = {"Content-Type": "application/json", "X-GitHub-Event": event, "X-Hub-Signature-256": sign(SECRET, body)}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return await client.post("/webhooks/github/", content=body, headers=h)


@respx.mock(assert_all_called=True)
async def test_handler_comments_through_the_async_installation_client(
    respx_mock: respx.MockRouter, private_key: tuple[str, Any]
) -> None:
    pem, public_key = private_key
    app, github_app = make(pem)
    tokens = respx_mock.post(f"{API}/app/installations/42/access_tokens").mock(
        return_value=httpx.Response(201, json=token_json("ghs_installation42"))
    )
    comments = respx_mock.post(f"{API}/repos/octo/repo/issues/7/comments").mock(
        return_value=httpx.Response(201, json=comment_json("Thanks!"))
    )

    @github_app.on("issues.opened")
    async def welcome() -> str:
        async with github_app.async_client() as gh:
            assert isinstance(gh, AsyncGitHubClient)
            p = github_app.payload
            comment = await gh.issues.create_comment(
                p["repository"]["owner"]["login"], p["repository"]["name"], p["issue"]["number"], body="Thanks!"
            )
        return comment.html_url

    response = await post(app, issue(42))
    assert response.status_code == 200, response.text
    assert response.json()["calls"] == {"welcome": "https://github.com/octo/repo/issues/7#issuecomment-1"}
    assert comments.calls.last.request.headers["Authorization"] == "Bearer ghs_installation42"
    assert json.loads(comments.calls.last.request.content) == {"body": "Thanks!"}
    # the app's JWT: RS256, iat = now - 60, exp = now + 540, iss = the app id as a string
    app_jwt = tokens.calls.last.request.headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(app_jwt, public_key, algorithms=["RS256"])
    assert claims["iss"] == str(APP_ID)
    assert claims["exp"] - claims["iat"] == 600
    assert abs(claims["iat"] - (datetime.now(UTC).timestamp() - 60)) < 30
    await github_app.shutdown()


@respx.mock(assert_all_called=True)
async def test_tokens_are_cached_and_the_pool_is_shared(
    respx_mock: respx.MockRouter, private_key: tuple[str, Any]
) -> None:
    pem, _ = private_key
    app, github_app = make(pem)
    tokens42 = respx_mock.post(f"{API}/app/installations/42/access_tokens").mock(
        return_value=httpx.Response(201, json=token_json("ghs_42"))
    )
    tokens43 = respx_mock.post(f"{API}/app/installations/43/access_tokens").mock(
        return_value=httpx.Response(201, json=token_json("ghs_43"))
    )
    repo = respx_mock.get(f"{API}/repos/octo/repo").mock(
        return_value=httpx.Response(200, json={"id": 1, "name": "repo", "full_name": "octo/repo"})
    )
    pools: list[Any] = []
    seen_tokens: list[str | None] = []

    @github_app.on("issues.opened")
    async def look() -> str:
        gh = await github_app.async_client()  # the awaitable form
        try:
            pools.append(gh._http)
            resp = await gh.request("GET", "/repos/{owner}/{repo}", owner="octo", repo="repo")
            seen_tokens.append(github_app.installation_token)
            return str(resp.json()["full_name"])
        finally:
            await gh.aclose()  # leaves the shared pool open

    for installation in (42, 42, 43, 42):
        assert (await post(app, issue(installation))).json()["calls"] == {"look": "octo/repo"}
    assert tokens42.call_count == 1  # cached across deliveries
    assert tokens43.call_count == 1
    assert repo.call_count == 4
    assert [c.request.headers["Authorization"] for c in repo.calls] == [
        "Bearer ghs_42",
        "Bearer ghs_42",
        "Bearer ghs_43",
        "Bearer ghs_42",
    ]
    assert seen_tokens == ["ghs_42", "ghs_42", "ghs_43", "ghs_42"]
    assert all(p is pools[0] for p in pools)  # one httpx.AsyncClient for every installation
    assert not pools[0].is_closed
    await github_app.shutdown()
    assert pools[0].is_closed  # closed with the app


@respx.mock
async def test_token_close_to_expiry_is_refreshed(respx_mock: respx.MockRouter, private_key: tuple[str, Any]) -> None:
    pem, _ = private_key
    _, github_app = make(pem)
    route = respx_mock.post(f"{API}/app/installations/42/access_tokens")
    route.side_effect = [
        httpx.Response(201, json=token_json("ghs_old", minutes=4)),  # under 5 minutes left: refresh next time
        httpx.Response(201, json=token_json("ghs_new")),
    ]
    first = await github_app.async_get_access_token(42)
    second = await github_app.async_get_access_token(42)
    third = await github_app.async_get_access_token(42)
    assert (first.token, second.token, third.token) == ("ghs_old", "ghs_new", "ghs_new")
    assert route.call_count == 2
    assert isinstance(first.expires_at, str) and first.expires_at.endswith("Z")
    await github_app.shutdown()


async def test_async_client_needs_an_installation(private_key: tuple[str, Any]) -> None:
    pem, _ = private_key
    _, github_app = make(pem)
    with pytest.raises(GitHubAppError, match="no webhook delivery is being handled") as outside:
        github_app.async_client()
    assert outside.value.status == 400
    with delivery_context(Delivery("ping", {"zen": "hi"})), pytest.raises(GitHubAppError, match="no installation"):
        github_app.async_client()
    with (
        delivery_context(Delivery("ping", {"zen": "hi"})),
        pytest.warns(DeprecationWarning),
        pytest.raises(GitHubAppError, match="Missing installation id"),
    ):
        github_app.client()


async def test_missing_credentials_fail_clearly() -> None:
    github_app = GitHubApp(github_app_secret=SECRET)
    with pytest.raises(GitHubAppError, match="GITHUBAPP_ID"):
        github_app.async_client(1)
    github_app = GitHubApp(github_app_secret=SECRET, github_app_id=1)
    with pytest.raises(GitHubAppError, match="GITHUBAPP_PRIVATE_KEY"):
        github_app.get_access_token(1)


@respx.mock(assert_all_called=True)
async def test_deprecated_sync_client_ghapi_style(respx_mock: respx.MockRouter, private_key: tuple[str, Any]) -> None:
    pem, _ = private_key
    app, github_app = make(pem)
    respx_mock.post(f"{API}/app/installations/42/access_tokens").mock(
        return_value=httpx.Response(201, json=token_json("ghs_sync"))
    )
    comment = respx_mock.post(f"{API}/repos/octo/repo/issues/7/comments").mock(
        return_value=httpx.Response(201, json=comment_json("Hi"))
    )
    caught: list[warnings.WarningMessage] = []

    @github_app.on("issues.opened")
    def sync_handler() -> Any:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            client = github_app.client()
            same = github_app.get_client()
        caught.extend(record)
        assert isinstance(client, GitHubClient) and isinstance(same, GitHubClient)
        result = client.issues.create_comment(owner="octo", repo="repo", issue_number=7, body="Hi")
        return [result.body, result["body"], result.id]

    response = await post(app, issue(42))
    assert response.json()["calls"] == {"sync_handler": ["Hi", "Hi", 1]}
    assert comment.calls.last.request.headers["Authorization"] == "Bearer ghs_sync"
    assert [w.category for w in caught] == [DeprecationWarning, DeprecationWarning]
    assert "async_client" in str(caught[0].message)
    await github_app.shutdown()


@respx.mock
def test_get_access_token_and_errors(respx_mock: respx.MockRouter, private_key: tuple[str, Any]) -> None:
    pem, _ = private_key
    github_app = GitHubApp(github_app_id=APP_ID, github_app_key=pem, github_app_secret=SECRET)
    respx_mock.post(f"{API}/app/installations/1/access_tokens").mock(
        return_value=httpx.Response(201, json=token_json("ghs_one"))
    )
    respx_mock.post(f"{API}/app/installations/404/access_tokens").mock(
        return_value=httpx.Response(404, json={"message": "Not Found", "documentation_url": "https://docs"})
    )
    respx_mock.post(f"{API}/app/installations/403/access_tokens").mock(
        return_value=httpx.Response(403, json={"message": "Forbidden"})
    )
    auth = github_app.get_access_token(1)
    assert isinstance(auth, InstallationAuthorization)
    assert auth.token == "ghs_one" and not auth.expired()
    assert "ghs_one" not in repr(auth)
    with pytest.raises(GithubAppUnkownObject) as missing:
        github_app.get_access_token(404)
    assert missing.value.status == 404
    with pytest.raises(GitHubAppBadCredentials) as forbidden:
        github_app.get_access_token(403)
    assert forbidden.value.status == 403
    with pytest.warns(DeprecationWarning, match="user_id"):
        github_app.get_access_token(1, user_id=5)
    github_app.clients.close()


@respx.mock
def test_list_installations(respx_mock: respx.MockRouter, private_key: tuple[str, Any]) -> None:
    pem, public_key = private_key
    github_app = GitHubApp(github_app_id=APP_ID, github_app_key=pem, github_app_secret=SECRET)
    route = respx_mock.get(f"{API}/app/installations").mock(
        return_value=httpx.Response(200, json=[{"id": 1}, {"id": 2}])
    )
    assert github_app.list_installations() == [{"id": 1}, {"id": 2}]
    assert github_app.list_installations(per_page=50, page=2) == [{"id": 1}, {"id": 2}]
    assert dict(route.calls.last.request.url.params) == {"page": "2", "per_page": "50"}
    claims = jwt.decode(
        route.calls.last.request.headers["Authorization"].removeprefix("Bearer "), public_key, algorithms=["RS256"]
    )
    assert claims["iss"] == str(APP_ID)
    route.mock(return_value=httpx.Response(401, json={"message": "Bad credentials"}))
    with pytest.raises(GithubUnauthorized) as unauthorized:
        github_app.list_installations()
    assert unauthorized.value.status == 401
    github_app.clients.close()


@respx.mock
async def test_github_enterprise_url(respx_mock: respx.MockRouter, private_key: tuple[str, Any]) -> None:
    pem, _ = private_key
    ghe = "https://ghe.example.com/api/v3"
    _, github_app = make(pem, github_app_url=ghe)
    route = respx_mock.post(f"{ghe}/app/installations/9/access_tokens").mock(
        return_value=httpx.Response(201, json=token_json("ghs_ghe"))
    )
    assert (await github_app.async_get_access_token(9)).token == "ghs_ghe"
    assert route.called
    async with github_app.async_client(9) as gh:
        assert gh.config.base_url == ghe
    await github_app.shutdown()


@respx.mock
async def test_secrets_stay_out_of_reprs_and_logs(
    respx_mock: respx.MockRouter, private_key: tuple[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    pem, _ = private_key
    app, github_app = make(pem)
    respx_mock.post(f"{API}/app/installations/42/access_tokens").mock(
        return_value=httpx.Response(201, json=token_json("ghs_topsecret_token_value"))
    )
    respx_mock.get(f"{API}/rate_limit").mock(return_value=httpx.Response(200, json={"resources": {}}))

    @github_app.on("issues.opened")
    async def handler() -> str:
        async with github_app.async_client() as gh:
            await gh.request("GET", "/rate_limit")
            return repr(gh)

    with caplog.at_level(logging.DEBUG):
        response = await post(app, issue(42))
        body = json.dumps(issue(42)).encode()  # and a forged one
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            await client.post(
                "/webhooks/github/",
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "X-GitHub-Event": "issues",
                    "X-Hub-Signature-256": "sha256=00",
                },
            )
    texts = [
        response.text,
        repr(github_app),
        repr(github_app.clients),
        repr(github_app.clients.tokens),
        repr(github_app.task_manager),
        caplog.text,
    ]
    for text in texts:
        assert "ghs_topsecret_token_value" not in text
        assert SECRET not in text
        assert "PRIVATE KEY" not in text and pem.splitlines()[1] not in text
    await github_app.shutdown()
