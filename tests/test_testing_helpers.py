"""githubapp.testing: signed deliveries, send_webhook into an app, the respx token mock, event factories."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated, Any, Literal

import httpx
import pytest
import respx
from fastapi import FastAPI
from pydantic import BaseModel, Field, ValidationError

from githubapp import GitHubApp
from githubapp.app.verify import verify_signature, webhook_secrets
from githubapp.testing import (
    USER_AGENT,
    fake_event,
    fake_payload,
    mock_installation_token,
    send_webhook,
    wait_for_tasks,
    webhook_delivery,
)
from githubapp.webhooks import EVENTS, IssuesOpened, event_model

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::githubapp.errors.SpecDriftWarning")]

API = "https://api.github.com"
SECRET = "testing-secret"


@pytest.fixture(scope="module")
def pem(rsa_pem: str) -> str:
    return rsa_pem


def issue_payload() -> dict[str, Any]:
    return fake_payload(
        "issues.opened",
        installation={"id": 42},
        repository={"name": "repo", "owner": {"login": "octo"}},
        issue={"number": 7, "title": "Bug"},
    )


# -- webhook_delivery ---------------------------------------------------------------------------


def test_delivery_headers_and_signature() -> None:
    delivery = webhook_delivery("issues", {"action": "opened", "n": 1}, secret=SECRET)
    h = delivery.headers
    assert h["Content-Type"] == "application/json"
    assert h["X-GitHub-Event"] == "issues" == delivery.event
    assert uuid.UUID(h["X-GitHub-Delivery"]).version == 4
    assert h["User-Agent"] == USER_AGENT and USER_AGENT.startswith("GitHub-Hookshot/")
    assert verify_signature(delivery.body, h["X-Hub-Signature-256"], webhook_secrets(SECRET) or ())
    assert not verify_signature(delivery.body, h["X-Hub-Signature-256"], webhook_secrets("other") or ())
    assert json.loads(delivery.body) == {"action": "opened", "n": 1}
    given = webhook_delivery("push", {}, secret=b"bytes-secret", delivery_id="d-1")
    assert given.delivery_id == "d-1"
    assert verify_signature(given.body, given.headers["X-Hub-Signature-256"], (b"bytes-secret",))


def test_delivery_event_action() -> None:
    delivery = webhook_delivery("issues.opened", {"issue": {"number": 1}}, secret=SECRET)
    assert delivery.headers["X-GitHub-Event"] == "issues"
    assert json.loads(delivery.body)["action"] == "opened"
    same = webhook_delivery("issues.opened", {"action": "opened"}, secret=SECRET)
    assert json.loads(same.body) == {"action": "opened"}
    with pytest.raises(ValueError, match=r"'opened'.*'closed'"):
        webhook_delivery("issues.opened", {"action": "closed"}, secret=SECRET)


def test_delivery_of_a_model_dumps_by_alias_what_was_set() -> None:
    event = fake_event("issues.opened", issue={"title": "Bug"})
    body = json.loads(webhook_delivery("issues.opened", event, secret=SECRET).body)
    assert body == fake_payload("issues.opened", issue={"title": "Bug"})
    assert "installation" not in body  # optional and unset: left out


@pytest.mark.parametrize(
    ("event", "payload", "secret", "error", "match"),
    [
        ("", {}, SECRET, ValueError, "''"),
        ("issues.", {}, SECRET, ValueError, "'issues.'"),
        ("issues", {"when": datetime.now(UTC)}, SECRET, TypeError, "datetime"),
        ("issues", {"x": float("nan")}, SECRET, TypeError, "JSON"),
        ("issues", [1, 2], SECRET, TypeError, r"\[1, 2\]"),
        ("issues", {}, "", ValueError, "secret"),
        ("issues", {}, 123, TypeError, "123"),
    ],
)
def test_delivery_bad_input(event: str, payload: Any, secret: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        webhook_delivery(event, payload, secret=secret)


# -- send_webhook end to end --------------------------------------------------------------------


@respx.mock(assert_all_called=True)
async def test_send_webhook_to_a_github_app(respx_mock: respx.MockRouter, pem: str) -> None:
    github_app = GitHubApp(github_app_id=4242, github_app_key=pem, github_app_secret=SECRET)
    github_app.config["GITHUBAPP_CLIENT_WRITE_SPACING"] = "0"
    tokens = mock_installation_token(respx_mock, 42, token="ghs_fake42")
    comments = respx_mock.post(f"{API}/repos/octo/repo/issues/7/comments").mock(
        return_value=httpx.Response(201, json={"id": 1, "body": "Thanks!"})
    )
    seen: list[IssuesOpened] = []

    @github_app.on("issues.opened")
    async def welcome(event: IssuesOpened) -> int:
        seen.append(event)
        async with github_app.async_client() as gh:
            comment = await gh.issues.create_comment(
                event.repository.owner.login, event.repository.name, event.issue.number, body="Thanks!"
            )
        return comment.id

    response = await send_webhook(github_app, "issues.opened", issue_payload(), secret=SECRET, delivery_id="d-42")
    assert response.status_code == 200, response.text
    assert response.json()["calls"] == {"welcome": 1}
    assert len(seen) == 1 and isinstance(seen[0], IssuesOpened) and seen[0].issue.title == "Bug"
    assert tokens.call_count == 1
    assert comments.calls.last.request.headers["Authorization"] == "Bearer ghs_fake42"
    assert json.loads(comments.calls.last.request.content) == {"body": "Thanks!"}

    wrong = await send_webhook(github_app, "issues.opened", issue_payload(), secret="wrong-secret")
    assert wrong.status_code == 400
    assert len(seen) == 1 and comments.call_count == 1
    await github_app.shutdown()


async def test_send_webhook_to_fastapi_with_a_background_handler() -> None:
    app = FastAPI()
    github_app = GitHubApp(app, github_app_secret=SECRET)
    titles: list[str] = []

    @github_app.on("issues.opened", background=True)
    async def later(event: IssuesOpened) -> None:
        titles.append(event.issue.title)

    response = await send_webhook(app, "issues.opened", fake_payload(IssuesOpened, issue={"title": "X"}), secret=SECRET)
    assert response.status_code == 202, response.text
    await wait_for_tasks(github_app, timeout=5)
    assert titles == ["X"]
    missing = await send_webhook(app, "issues.opened", fake_payload(IssuesOpened), secret=SECRET, path="/nope")
    assert missing.status_code == 404
    await github_app.shutdown()


async def test_send_webhook_uses_the_configured_route() -> None:
    github_app = GitHubApp(github_app_secret=SECRET, github_app_route="/hooks")
    ran: list[str] = []

    @github_app.on("push")
    def on_push() -> None:
        ran.append(github_app.delivery_id or "")

    response = await send_webhook(github_app, "push", fake_payload("push"), secret=SECRET, delivery_id="p-1")
    assert response.status_code == 200, response.text
    assert ran == ["p-1"]


def test_mock_installation_token_answers_like_github() -> None:
    with respx.mock(assert_all_called=True) as router:
        route = mock_installation_token(router, 7, base_url="https://ghe.example/api/v3/")
        data = httpx.post("https://ghe.example/api/v3/app/installations/7/access_tokens").json()
    assert route.called
    assert data["token"] == "ghs_test" and data["permissions"] == {} and data["repository_selection"] == "all"
    expires = datetime.strptime(data["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert 3500 < (expires - datetime.now(UTC)).total_seconds() <= 3600


# -- fake_event ---------------------------------------------------------------------------------


def test_fake_event_for_every_event() -> None:
    failures: dict[str, str] = {}
    for key in EVENTS:
        try:
            event = fake_event(key)
            assert isinstance(event, event_model(key))
        except Exception as exc:  # collect them all
            failures[key] = f"{type(exc).__name__}: {str(exc)[:200]}"
    assert not failures, failures


def test_fake_event_overrides() -> None:
    event = fake_event("issues.opened", issue={"title": "Bug", "labels": [{"name": "bug"}]}, installation={"id": 42})
    assert isinstance(event, IssuesOpened)
    assert event.action == "opened"
    assert event.issue.title == "Bug"
    assert event.issue.labels is not None and event.issue.labels[0].name == "bug"
    assert event.installation is not None and event.installation.id == 42
    assert event.issue.number == 1  # placeholders elsewhere
    typed = fake_event(IssuesOpened, repository={"owner": {"login": "octo"}})
    assert typed.repository.owner.login == "octo" and typed.repository.name == "string"
    with pytest.raises(ValidationError):
        fake_event("issues.opened", issue={"number": "not a number"})


def test_fake_payload_errors() -> None:
    with pytest.raises(KeyError, match=r"no\.such"):
        fake_payload("no.such")
    with pytest.raises(ValueError, match="empty"):
        fake_payload("")


def test_importing_testing_does_not_import_respx() -> None:
    code = "import sys, githubapp, githubapp.testing; assert 'respx' not in sys.modules, 'respx imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    code = "import sys, githubapp; githubapp.GitHubApp; assert 'githubapp.testing' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


class Node(BaseModel):
    name: str
    parent: Node | None
    children: list[Node]
    loop: Node | int
    score: Annotated[int, Field(ge=5, le=9)]
    ratio: Annotated[float, Field(gt=2.0)]
    short: Annotated[str, Field(max_length=3)]
    kind: Literal["a", "b"]
    color: Color
    when: datetime
    day: date
    maybe: int | None = None


class Color(Enum):
    RED = "red"
    BLUE = "blue"


class Cycle(BaseModel):
    me: Cycle


def test_fake_payload_placeholders_and_recursion_guard() -> None:
    Node.model_rebuild()
    payload = fake_payload(Node, children=[{"name": "kid"}])
    assert payload == {
        "name": "string",
        "parent": None,
        "children": [{**payload["children"][0], "name": "kid"}],
        "loop": 1,
        "score": 5,
        "ratio": 2.5,
        "short": "str",
        "kind": "a",
        "color": "red",
        "when": "2024-01-01T00:00:00Z",
        "day": "2024-01-01",
    }
    node = fake_event(Node, when=datetime(2025, 5, 1, tzinfo=UTC), color=Color.BLUE)
    assert node.color is Color.BLUE and node.when.year == 2025
    with pytest.raises(TypeError, match=r"Cycle.me: Cycle contains itself"):
        fake_payload(Cycle)
