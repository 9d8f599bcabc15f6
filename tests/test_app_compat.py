"""fastapi-githubapp 0.2.7 code, written the way its samples and users wrote it, keeps working.

The app below is 0.2.7's ``samples/01-basic-webhook`` and ``cruel_closer``: configuration from
the environment with ``load_env``, zero-argument sync handlers that read ``github_app.payload``
and call ``github_app.client()`` to comment on and close the issue, FastAPI's ``TestClient``.
GitHub is respx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI
from fastapi.testclient import TestClient

from githubapp import GitHubApp, with_rate_limit_handling
from githubapp.core import (
    STATUS_FUNC_CALLED,
    STATUS_NO_FUNC_CALLED,
    GitHubAppError,
    InstallationAuthorization,
    RateLimitedGhApi,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # client() is deprecated, on purpose here
    pytest.mark.filterwarnings("ignore::githubapp.errors.SpecDriftWarning"),
]

API = "https://api.github.com"


@pytest.fixture(scope="module")
def pem(rsa_key: Any) -> str:
    return str(rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode())


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, pem: str) -> dict[str, str]:
    values = {
        "GITHUBAPP_ID": "12345",
        "GITHUBAPP_PRIVATE_KEY": pem,
        "GITHUBAPP_WEBHOOK_SECRET": "webhook-secret",
        "GITHUBAPP_WEBHOOK_PATH": "/webhooks/github/",
        "GITHUBAPP_CLIENT_WRITE_SPACING": "0",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def github() -> Any:
    """The GitHub API as 0.2.7's handlers use it: installation token, comment, close."""
    with respx.mock(assert_all_called=False) as mock:
        expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        mock.post(f"{API}/app/installations/555/access_tokens", name="token").mock(
            return_value=httpx.Response(201, json={"token": "ghs_compat", "expires_at": expires})
        )
        mock.post(f"{API}/repos/octocat/hello-world/issues/42/comments", name="comment").mock(
            return_value=httpx.Response(201, json={"id": 1, "body": "x"})
        )
        mock.patch(f"{API}/repos/octocat/hello-world/issues/42", name="close").mock(
            return_value=httpx.Response(200, json={"id": 2, "number": 42, "state": "closed"})
        )
        yield mock


def signed(body: bytes, secret: str = "webhook-secret") -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(client: TestClient, payload: dict[str, Any], event: str = "issues", path: str = "/webhooks/github/") -> Any:
    body = json.dumps(payload).encode()
    return client.post(
        path,
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": os.urandom(8).hex(),
            "X-Hub-Signature-256": signed(body),
        },
    )


OPENED = {
    "action": "opened",
    "issue": {"number": 42, "title": "Found a bug"},
    "repository": {"name": "hello-world", "owner": {"login": "octocat"}},
    "installation": {"id": 555},
}


def test_basic_webhook_sample(env: dict[str, str], github: Any) -> None:
    # --- samples/01-basic-webhook/app.py, unchanged -------------------------------------------
    app = FastAPI()

    # Initialize config for environment variable loading
    app.config = {}  # type: ignore[attr-defined]
    GitHubApp.load_env(app)

    # Create GitHubApp instance
    github_app = GitHubApp(app)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @github_app.on("issues.opened")
    def close_new_issue():  # type: ignore[no-untyped-def]
        """Automatically close newly opened issues."""
        owner = github_app.payload["repository"]["owner"]["login"]
        repo = github_app.payload["repository"]["name"]
        issue_number = github_app.payload["issue"]["number"]

        client = github_app.client()

        # Add comment and close issue
        client.issues.create_comment(
            owner=owner,
            repo=repo,
            issue_number=issue_number,
            body="You've got an issue? I've got a solution! Closing 😈",
        )

        client.issues.update(owner=owner, repo=repo, issue_number=issue_number, state="closed")

    # ------------------------------------------------------------------------------------------
    assert app.config["GITHUBAPP_ID"] == 12345  # type: ignore[attr-defined]
    client = TestClient(app)  # no `with`: no lifespan, as most 0.2.7 tests did
    assert client.get("/health").json() == {"status": "ok"}
    response = deliver(client, OPENED)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": STATUS_FUNC_CALLED, "calls": {"close_new_issue": None}}

    assert github["token"].call_count == 1
    comment = github["comment"].calls.last.request
    assert comment.headers["Authorization"] == "Bearer ghs_compat"
    assert json.loads(comment.content) == {"body": "You've got an issue? I've got a solution! Closing 😈"}
    assert json.loads(github["close"].calls.last.request.content) == {"state": "closed"}

    # a second delivery reuses the cached installation token
    response = deliver(client, OPENED)
    assert response.status_code == 200
    assert github["token"].call_count == 1
    assert github["comment"].call_count == 2


def test_cruel_closer_sample(env: dict[str, str], github: Any) -> None:
    # --- samples/cruel_closer/app.py, unchanged ---------------------------------------------
    app = FastAPI()

    # build the GitHubApp object (no `app` passed here!)
    github_app = GitHubApp(
        app,
        github_app_id=int(os.getenv("GITHUBAPP_ID")),  # type: ignore[arg-type]
        github_app_key=os.getenv("GITHUBAPP_PRIVATE_KEY").encode(),  # type: ignore[union-attr]
        github_app_secret=os.getenv("GITHUBAPP_WEBHOOK_SECRET").encode(),  # type: ignore[union-attr]
        github_app_route=os.getenv("GITHUBAPP_WEBHOOK_PATH"),  # type: ignore[arg-type]
    )

    # wires up the POST /webhooks/github/ endpoint
    github_app.init_app(app, route=os.getenv("GITHUBAPP_WEBHOOK_PATH"))

    @app.get("/health")
    def index() -> str:
        return "Ok"

    @github_app.on("issues.opened")
    def cruel_closer():  # type: ignore[no-untyped-def]
        owner = github_app.payload["repository"]["owner"]["login"]
        repo = github_app.payload["repository"]["name"]
        num = github_app.payload["issue"]["number"]
        client = github_app.client()
        client.issues.create_comment(owner=owner, repo=repo, issue_number=num, body="Could not replicate.")
        client.issues.update(owner=owner, repo=repo, issue_number=num, state="closed")

    # ------------------------------------------------------------------------------------------
    with TestClient(app) as client:  # with lifespan this time
        response = deliver(client, OPENED)
        assert response.status_code == 200, response.text
        assert response.json()["calls"] == {"cruel_closer": None}
        bad = client.post(
            "/webhooks/github/",
            content=json.dumps(OPENED).encode(),
            headers={"Content-Type": "application/json", "X-GitHub-Event": "issues", "X-Hub-Signature-256": "sha256=0"},
        )
        assert bad.status_code == 400
    assert json.loads(github["comment"].calls.last.request.content) == {"body": "Could not replicate."}
    assert github["close"].call_count == 1


def test_with_rate_limit_handling_decorator(env: dict[str, str], github: Any) -> None:
    app = FastAPI()
    GitHubApp.load_env(app)  # app.config created when missing
    github_app = GitHubApp(app)
    kinds: list[str] = []

    @github_app.on("issues.opened")
    @with_rate_limit_handling(github_app)
    def handle_issue():  # type: ignore[no-untyped-def]
        client = github_app.get_client()
        kinds.append(type(client).__name__)
        client.issues.create_comment(owner="octocat", repo="hello-world", issue_number=42, body="Thanks!")
        return "handled"

    response = deliver(TestClient(app), OPENED)
    assert response.json() == {"status": "HIT", "calls": {"handle_issue": "handled"}}
    assert kinds == [RateLimitedGhApi.__name__]
    outside = github_app.client(555)
    assert not isinstance(outside, RateLimitedGhApi)  # only inside the decorated handler


def test_0_2_7_test_suite_style(pem: str) -> None:
    """The checks of 0.2.7's own tests/test_core.py that do not mock its internals."""
    github_app = GitHubApp(github_app_id=123, github_app_key=b"test_key", github_app_secret=b"test_secret")
    assert (github_app.id, github_app.key, github_app.secret) == (123, b"test_key", b"test_secret")
    assert github_app.base_url == "https://api.github.com"
    assert GitHubApp(github_app_url="https://api.github.enterprise.com").base_url == "https://api.github.enterprise.com"

    app = FastAPI()
    github_app = GitHubApp()
    github_app.init_app(app)
    assert isinstance(app.config, dict)  # type: ignore[attr-defined]

    app = FastAPI()
    github_app = GitHubApp(
        github_app_id=456, github_app_key=b"constructor_key", github_app_secret=b"constructor_secret"
    )
    github_app.init_app(app)
    assert app.config["GITHUBAPP_ID"] == 456  # type: ignore[attr-defined]
    assert app.config["GITHUBAPP_PRIVATE_KEY"] == b"constructor_key"  # type: ignore[attr-defined]
    assert app.config["GITHUBAPP_WEBHOOK_SECRET"] == b"constructor_secret"  # type: ignore[attr-defined]

    github_app = GitHubApp()

    @github_app.on("issues.opened")
    def function1() -> str:
        return "result1"

    @github_app.on("issues.opened")
    def function2() -> str:
        return "result2"

    @github_app.on("pull_request.closed")
    def pr_function() -> str:
        return "pr_result"

    assert github_app._hook_mappings == {"issues.opened": [function1, function2], "pull_request.closed": [pr_function]}

    auth = InstallationAuthorization("test_token", "2023-01-01T00:00:00Z")
    assert (auth.token, auth.expires_at) == ("test_token", "2023-01-01T00:00:00Z")
    assert auth.expired()  # a string expiry is parsed now (0.2.7 never expired it)
    with pytest.raises(GitHubAppError):
        GitHubApp().client()  # no payload, no installation id


def test_full_webhook_flow_miss_and_500() -> None:
    app = FastAPI()
    github_app = GitHubApp(app, github_app_id=123, github_app_key=b"test_key", github_app_secret=False)
    github_app.init_app(app)
    results: list[str] = []

    @github_app.on("issues")
    def handle_any_issue() -> str:
        results.append("any_issue")
        return "handled_any"

    @github_app.on("issues.opened")
    def handle_opened_issue() -> str:
        results.append("opened_issue")
        return "handled_opened"

    @github_app.on("issues.reopened")
    def failing_handler() -> None:
        raise ValueError("Something went wrong")

    with TestClient(app) as client:
        ok = client.post(
            "/webhooks/github/",
            json={"action": "opened", "installation": {"id": 123}, "issue": {"number": 1}},
            headers={"X-GitHub-Event": "issues"},
        )
        assert ok.status_code == 200
        assert ok.json() == {
            "status": STATUS_FUNC_CALLED,
            "calls": {"handle_any_issue": "handled_any", "handle_opened_issue": "handled_opened"},
        }
        assert results == ["any_issue", "opened_issue"]
        miss = client.post(
            "/webhooks/github/",
            json={"action": "closed", "installation": {"id": 123}},
            headers={"X-GitHub-Event": "pull_request"},
        )
        assert miss.json() == {"status": STATUS_NO_FUNC_CALLED, "calls": {}}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            boom = client.post(
                "/webhooks/github/",
                json={"action": "reopened", "issue": {"number": 1}},
                headers={"X-GitHub-Event": "issues"},
            )
        assert boom.status_code == 500
        no_event = client.post("/webhooks/github/", json={"installation": {"id": 123}})
        assert no_event.status_code == 400
        no_json = client.post("/webhooks/github/", content=b"x", headers={"X-GitHub-Event": "issues"})
        assert no_json.status_code == 400  # no JSON content type


def test_load_env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "GITHUBAPP_ID": "77",
        "GITHUBAPP_PRIVATE_KEY": "pem",
        "GITHUBAPP_WEBHOOK_SECRET": "from-env",
        "GITHUBAPP_WEBHOOK_PATH": "/gh",
        "GITHUBAPP_URL": "https://ghe.example.com/api/v3",
        "GITHUBAPP_OAUTH_CLIENT_ID": "cid",
        "GITHUBAPP_OAUTH_CLIENT_SECRET": "csecret",
        "GITHUBAPP_OAUTH_SESSION_SECRET": "ssecret",
        "GITHUBAPP_OAUTH_REDIRECT_URI": "https://example.com/cb",
        "GITHUBAPP_OAUTH_SCOPES": "read:user,repo",
        "GITHUBAPP_ENABLE_OAUTH": "yes",
        "GITHUBAPP_OAUTH_ROUTES_PREFIX": "/oauth",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    app = FastAPI()
    app.config = {"GITHUBAPP_WEBHOOK_SECRET": "already-set"}  # type: ignore[attr-defined]
    GitHubApp.load_env(app)
    config = app.config  # type: ignore[attr-defined]
    assert config["GITHUBAPP_ID"] == 77
    assert config["GITHUBAPP_WEBHOOK_SECRET"] == "already-set"  # not overwritten
    assert config["GITHUBAPP_OAUTH_SCOPES"] == ["read:user", "repo"]
    assert config["GITHUBAPP_ENABLE_OAUTH"] is True
    assert config["GITHUBAPP_URL"] == "https://ghe.example.com/api/v3"
    github_app = GitHubApp(app)
    assert github_app.base_url == "https://ghe.example.com/api/v3"
    assert github_app._webhook_route == "/gh"
    monkeypatch.setenv("GITHUBAPP_ID", "not-a-number")
    with pytest.raises(ValueError, match="GITHUBAPP_ID"):
        GitHubApp.load_env({})


def test_async_handlers_with_a_test_client_without_lifespan(env: dict[str, str], github: Any) -> None:
    """Each TestClient request runs in a new event loop: the shared pool follows the loop."""
    app = FastAPI()
    GitHubApp.load_env(app)
    github_app = GitHubApp(app)

    @github_app.on("issues.opened")
    async def comment():  # type: ignore[no-untyped-def]
        async with github_app.async_client() as gh:
            await gh.issues.create_comment(owner="octocat", repo="hello-world", issue_number=42, body="async")
        return "ok"

    client = TestClient(app)
    for _ in range(3):
        response = deliver(client, OPENED)
        assert response.json() == {"status": "HIT", "calls": {"comment": "ok"}}
    assert github["comment"].call_count == 3
    assert github["token"].call_count == 1
