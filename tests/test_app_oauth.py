"""The 0.2.7 OAuth2 routes: login URL, callback (with CSRF state), session token, user, logout."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
import respx
from fastapi import Depends, FastAPI

from githubapp import GitHubApp
from githubapp.app.oauth import GitHubOAuth2, SessionManager

pytestmark = pytest.mark.anyio

SESSION_SECRET = "session-secret-for-tests-0123456789abcdef"


def make(**kwargs: Any) -> tuple[FastAPI, GitHubApp]:
    app = FastAPI()
    github_app = GitHubApp(
        app,
        github_app_secret="s",
        oauth_client_id="Iv1.client",
        oauth_client_secret="client-secret-value",
        oauth_redirect_uri="https://example.com/auth/github/callback",
        oauth_session_secret=SESSION_SECRET,
        **kwargs,
    )
    return app, github_app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def mock_github(mock: respx.MockRouter) -> None:
    mock.post("https://github.com/login/oauth/access_token").mock(
        return_value=httpx.Response(
            200, json={"access_token": "gho_user", "token_type": "bearer", "scope": "read:user"}
        )
    )
    mock.get("https://api.github.com/user").mock(
        return_value=httpx.Response(200, json={"id": 99, "login": "octocat", "name": "Mona", "email": None})
    )
    mock.get("https://api.github.com/user/emails").mock(return_value=httpx.Response(403, json={}))


@respx.mock
async def test_login_callback_user_logout(respx_mock: respx.MockRouter) -> None:
    mock_github(respx_mock)
    app, github_app = make()

    @app.get("/me")
    def me(user: dict[str, Any] = Depends(github_app.get_current_user)) -> dict[str, Any]:  # noqa: B008 - 0.2.7 style
        return {"login": user["login"]}

    async with client(app) as c:
        login = await c.get("/auth/github/login", params={"scopes": "read:user,repo"})
        url = urlsplit(login.json()["auth_url"])
        query = parse_qs(url.query)
        assert f"{url.scheme}://{url.netloc}{url.path}" == "https://github.com/login/oauth/authorize"
        assert query["client_id"] == ["Iv1.client"] and query["scope"] == ["read:user repo"]
        state = query["state"][0]

        callback = await c.get("/auth/github/callback", params={"code": "abc", "state": state})
        assert callback.status_code == 200, callback.text
        data = callback.json()
        assert data["user"] == {
            "id": 99,
            "login": "octocat",
            "name": "Mona",
            "email": None,
            "avatar_url": None,
            "emails": [],
        }
        token = data["session_token"]
        claims = jwt.decode(token, SESSION_SECRET, algorithms=["HS256"])
        assert claims["sub"] == "99" and claims["type"] == "session"
        exchange = respx_mock.calls[0].request
        assert b"client_secret=client-secret-value" in exchange.content and b"code=abc" in exchange.content

        user = await c.get("/auth/github/user", headers={"Authorization": f"Bearer {token}"})
        assert user.status_code == 200 and user.json()["login"] == "octocat"
        c.cookies.set("session_token", token)
        assert (await c.get("/me")).json() == {"login": "octocat"}
        c.cookies.clear()
        assert (await c.get("/auth/github/user")).status_code == 401
        assert (await c.get("/auth/github/user", headers={"Authorization": "Bearer forged"})).status_code == 401
        assert (await c.post("/auth/github/logout")).json() == {"status": "logged_out"}

        # the state is single-use
        replay = await c.get("/auth/github/callback", params={"code": "abc", "state": state})
        assert replay.status_code == 400


async def test_callback_requires_code_and_a_known_state() -> None:
    app, _ = make()
    async with client(app) as c:
        assert (await c.get("/auth/github/callback", params={"error": "access_denied"})).json()["detail"] == (
            "OAuth error: access_denied"
        )
        assert (await c.get("/auth/github/callback")).json()["detail"] == "Missing authorization code"
        no_state = await c.get("/auth/github/callback", params={"code": "abc"})
        assert no_state.status_code == 400 and "state" in no_state.json()["detail"]
        forged = await c.get("/auth/github/callback", params={"code": "abc", "state": "made-up"})
        assert forged.status_code == 400 and forged.json()["detail"] == "Invalid OAuth2 state parameter"


async def test_routes_only_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    app = FastAPI()
    GitHubApp(app, github_app_secret="s", oauth_client_id="id", oauth_client_secret="secret")  # no session secret
    async with client(app) as c:
        assert (await c.get("/auth/github/login")).status_code == 404
    app, _ = make(enable_oauth=False)
    async with client(app) as c:
        assert (await c.get("/auth/github/login")).status_code == 404
    monkeypatch.setenv("GITHUBAPP_OAUTH_CLIENT_ID", "env-id")
    monkeypatch.setenv("GITHUBAPP_OAUTH_CLIENT_SECRET", "env-secret")
    monkeypatch.setenv("GITHUBAPP_OAUTH_SESSION_SECRET", "env-session-" + "x" * 32)
    monkeypatch.setenv("GITHUBAPP_OAUTH_ROUTES_PREFIX", "/login-with-github")
    app = FastAPI()
    GitHubApp.load_env(app)
    github_app = GitHubApp(app, github_app_secret="s", oauth_routes_prefix="")
    async with client(app) as c:
        assert (await c.get("/login-with-github/login")).status_code == 200
    assert "env-secret" not in repr(github_app.oauth) and "env-session" not in repr(github_app._session_mgr)


def test_session_manager() -> None:
    key = "k" * 32
    sessions = SessionManager(key)
    token = sessions.create_session_token({"id": 1, "login": "a"}, expires_in_seconds=60)
    assert sessions.verify_session_token(token)["login"] == "a"
    other = jwt.encode({"type": "access"}, key, algorithm="HS256")
    with pytest.raises(jwt.InvalidTokenError):
        sessions.verify_session_token(other)
    expired = sessions.create_session_token({"id": 1}, expires_in_seconds=-10)
    with pytest.raises(jwt.ExpiredSignatureError):
        sessions.verify_session_token(expired)


def test_state_store_is_bounded_and_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    from githubapp.app import oauth

    monkeypatch.setattr(oauth, "MAX_STATES", 3)
    flow = GitHubOAuth2("id", "secret")
    for _ in range(10):
        flow.generate_auth_url()
    assert len(flow._state_store) <= 3
    now = [1000.0]
    monkeypatch.setattr(oauth.time, "time", lambda: now[0])
    flow = GitHubOAuth2("id", "secret")
    flow.generate_auth_url(state="old")
    now[0] += oauth.STATE_TTL + 1
    flow.generate_auth_url(state="new")
    assert "old" not in flow._state_store and "new" in flow._state_store
