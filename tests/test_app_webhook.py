"""The webhook endpoint: verification, request checks, routing order, responses, redeliveries.

Deliveries go through httpx's ASGI transport into a FastAPI app (and the plain ASGI app), so the
whole HTTP path runs, signature included.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from githubapp import GitHubApp
from githubapp.app import STATUS_FUNC_CALLED, STATUS_NO_FUNC_CALLED, sign
from githubapp.app.config import DEFAULT_ROUTE, MAX_BODY_BYTES
from githubapp.app.deliveries import DeliveryLog
from githubapp.app.verify import WebhookSecretMissing, verify_signature, webhook_secrets

pytestmark = pytest.mark.anyio

SECRET = "It's a Secret to Everybody"
ISSUE = {"action": "opened", "issue": {"number": 7}, "installation": {"id": 42}}


def headers(
    body: bytes, event: str | None = "issues", *, secret: str | None = SECRET, delivery: str | None = None
) -> dict[str, str]:
    h = {"Content-Type": "application/json"}
    if event is not None:
        h["X-GitHub-Event"] = event
    if secret is not None:
        h["X-Hub-Signature-256"] = sign(secret, body)
    if delivery is not None:
        h["X-GitHub-Delivery"] = delivery
    return h


def encode(payload: Any) -> bytes:
    return json.dumps(payload).encode()


async def post(
    target: Any,
    payload: Any = ISSUE,
    event: str | None = "issues",
    *,
    secret: str | None = SECRET,
    delivery: str | None = None,
    path: str = DEFAULT_ROUTE,
    extra: dict[str, str] | None = None,
) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else encode(payload)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=target), base_url="http://test") as client:
        return await client.post(
            path, content=body, headers={**headers(body, event, secret=secret, delivery=delivery), **(extra or {})}
        )


def make(secret: Any = SECRET, **kwargs: Any) -> tuple[FastAPI, GitHubApp]:
    app = FastAPI()
    return app, GitHubApp(app, github_app_secret=secret, **kwargs)


# -- signatures -------------------------------------------------------------------------------------


async def test_valid_signature_runs_the_handler() -> None:
    app, github_app = make()
    seen: list[int] = []

    @github_app.on("issues.opened")
    def opened() -> str:
        seen.append(github_app.payload["issue"]["number"])
        return "ok"

    response = await post(app)
    assert response.status_code == 200
    assert response.json() == {"status": "HIT", "calls": {"opened": "ok"}}
    assert seen == [7]


@pytest.mark.parametrize("secret", ["wrong secret", None])
async def test_bad_or_missing_signature_is_rejected_and_runs_nothing(
    secret: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    app, github_app = make()
    ran: list[str] = []
    github_app.on("issues")(lambda: ran.append("x"))
    response = await post(app, secret=secret, delivery="forged-1")
    assert response.status_code == 400
    assert "X-Hub-Signature-256" in response.json()["detail"]["description"]
    assert ran == []
    assert SECRET not in caplog.text


async def test_sha1_signature_alone_is_not_enough() -> None:
    import hashlib
    import hmac

    app, github_app = make()
    github_app.on("issues")(lambda: "ran")
    body = encode(ISSUE)
    sha1 = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.post(
            DEFAULT_ROUTE,
            content=body,
            headers={"Content-Type": "application/json", "X-GitHub-Event": "issues", "X-Hub-Signature": sha1},
        )
    assert response.status_code == 400


async def test_signature_is_over_the_raw_bytes() -> None:
    """Re-serialising the JSON (other spacing) must not verify: the HMAC covers the exact bytes."""
    app, github_app = make()
    github_app.on("issues")(lambda: "ran")
    body = b'{"action":  "opened", "issue": {"number": 7}}'
    signature = sign(SECRET, encode(json.loads(body)))  # signed a different byte string
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        bad = await client.post(
            DEFAULT_ROUTE,
            content=body,
            headers={"Content-Type": "application/json", "X-GitHub-Event": "issues", "X-Hub-Signature-256": signature},
        )
        good = await client.post(DEFAULT_ROUTE, content=body, headers=headers(body))
    assert bad.status_code == 400
    assert good.status_code == 200


async def test_several_secrets_for_rotation() -> None:
    app, github_app = make(["new secret", b"old secret"])
    github_app.on("issues")(lambda: "ran")
    assert (await post(app, secret="new secret")).status_code == 200
    assert (await post(app, secret="old secret")).status_code == 200
    assert (await post(app, secret="another")).status_code == 400


async def test_missing_secret_fails_closed(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    github_app = GitHubApp(app)  # no secret anywhere
    ran: list[str] = []
    github_app.on("issues")(lambda: ran.append("x"))
    with caplog.at_level(logging.ERROR, logger="githubapp"):
        for secret in (SECRET, None):
            response = await post(app, secret=secret)
            assert response.status_code == 500
            assert "secret is not configured" in response.json()["detail"]["description"]
    assert ran == []
    assert "no webhook secret configured" in caplog.text


async def test_empty_secret_fails_closed() -> None:
    app, github_app = make("")
    github_app.on("issues")(lambda: "ran")
    assert (await post(app, secret="")).status_code == 500


async def test_secret_false_disables_verification(caplog: pytest.LogCaptureFixture) -> None:
    app, github_app = make(False)
    github_app.on("issues")(lambda: "ran")
    with caplog.at_level(logging.WARNING, logger="githubapp"):
        response = await post(app, secret=None)
    assert response.status_code == 200
    assert "DISABLED" in caplog.text


async def test_secret_from_config() -> None:
    app = FastAPI()
    app.config = {"GITHUBAPP_WEBHOOK_SECRET": SECRET}  # type: ignore[attr-defined]
    github_app = GitHubApp(app)
    github_app.on("issues")(lambda: "ran")
    assert (await post(app)).status_code == 200
    assert (await post(app, secret="nope")).status_code == 400


def test_webhook_secrets_normalisation() -> None:
    assert webhook_secrets(False) is None
    assert webhook_secrets("a") == (b"a",)
    assert webhook_secrets([b"a", "b", ""]) == (b"a", b"b")
    for missing in (None, "", [], True):
        with pytest.raises(WebhookSecretMissing):
            webhook_secrets(missing)
    with pytest.raises(TypeError):
        webhook_secrets(123)


@given(body=st.binary(max_size=512), secret=st.text(min_size=1, max_size=40), other=st.text(min_size=1, max_size=40))
def test_signature_property(body: bytes, secret: str, other: str) -> None:
    secrets = webhook_secrets(secret)
    assert secrets is not None
    assert verify_signature(body, sign(secret, body), secrets)
    assert not verify_signature(body + b"x", sign(secret, body), secrets)
    assert not verify_signature(body, sign(secret, body).replace("sha256=", "sha1="), secrets)
    assert verify_signature(body, sign(other, body), secrets) == (other.encode() == secret.encode())


# -- request checks -------------------------------------------------------------------------------


async def test_non_json_content_type_is_400() -> None:
    app, github_app = make()
    ran: list[str] = []
    github_app.on("issues")(lambda: ran.append("x"))
    body = b"payload=%7B%7D"
    h = headers(body)
    h["Content-Type"] = "application/x-www-form-urlencoded"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.post(DEFAULT_ROUTE, content=body, headers=h)
        plus_json = await client.post(
            DEFAULT_ROUTE,
            content=encode(ISSUE),
            headers={**headers(encode(ISSUE)), "Content-Type": "application/vnd.github+json"},
        )
    assert response.status_code == 400
    assert "Content-Type" in response.json()["detail"]["description"]
    assert plus_json.status_code == 200
    assert ran == ["x"]


async def test_missing_event_header_is_400() -> None:
    app, _ = make()
    response = await post(app, event=None)
    assert response.status_code == 400
    assert response.json()["detail"]["description"] == "Missing X-GitHub-Event header."


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe\x00garbage"])
async def test_malformed_json_is_400_and_runs_nothing(body: bytes) -> None:
    app, github_app = make()
    ran: list[str] = []
    github_app.on("issues")(lambda: ran.append("x"))
    response = await post(app, body)
    assert response.status_code == 400
    assert "Invalid JSON payload" in response.json()["detail"]["description"]
    assert ran == []


async def test_oversized_body_by_content_length_is_413_without_reading() -> None:
    _, github_app = make()
    ran: list[str] = []
    github_app.on("issues")(lambda: ran.append("x"))
    reads = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": DEFAULT_ROUTE,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(MAX_BODY_BYTES + 1).encode()),
            (b"x-github-event", b"issues"),
        ],
    }
    await github_app.asgi_app()(scope, receive, send)
    assert sent[0]["status"] == 413
    assert reads == 0
    assert ran == []


async def test_oversized_streamed_body_is_413_and_reading_stops() -> None:
    _, github_app = make()
    github_app.config["GITHUBAPP_MAX_BODY_SIZE"] = 1000  # small limit for the test
    ran: list[str] = []
    github_app.on("issues")(lambda: ran.append("x"))
    reads = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:  # a chunked upload of 100 x 100 bytes, no Content-Length
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 100, "more_body": reads < 100}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": DEFAULT_ROUTE,
        "headers": [(b"content-type", b"application/json"), (b"x-github-event", b"issues")],
    }
    await github_app.asgi_app()(scope, receive, send)
    assert sent[0]["status"] == 413
    assert reads == 11  # stopped at the chunk that crossed the limit
    assert ran == []


async def test_body_exactly_at_limit_is_accepted() -> None:
    app, github_app = make()
    payload = {"action": "opened", "pad": ""}
    base = len(encode(payload))
    github_app.config["GITHUBAPP_MAX_BODY_SIZE"] = base + 10
    payload["pad"] = "x" * 10
    github_app.on("issues")(lambda: "ok")
    assert (await post(app, payload)).status_code == 200
    payload["pad"] = "x" * 11
    assert (await post(app, payload)).status_code == 413


async def test_get_is_405() -> None:
    app, _ = make()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get(DEFAULT_ROUTE)).status_code == 405


# -- routing and responses ------------------------------------------------------------------------


async def test_miss_when_no_handler() -> None:
    app, github_app = make()
    github_app.on("pull_request")(lambda: "pr")
    response = await post(app)
    assert response.status_code == 200
    assert response.json() == {"status": STATUS_NO_FUNC_CALLED, "calls": {}}


async def test_ping_without_installation_is_accepted() -> None:
    app, github_app = make()
    zen: list[str] = []

    @github_app.on("ping")
    def pong() -> str:
        zen.append(github_app.payload["zen"])
        return "pong"

    response = await post(app, {"zen": "Keep it logically awesome.", "hook_id": 1}, "ping")
    assert response.status_code == 200
    assert response.json() == {"status": STATUS_FUNC_CALLED, "calls": {"pong": "pong"}}
    assert zen == ["Keep it logically awesome."]
    assert (await post(app, {"zen": "no handler needed"}, "ping", delivery="p2")).status_code == 200


async def test_order_bare_event_first_then_action_in_registration_order() -> None:
    app, github_app = make()
    order: list[str] = []

    @github_app.on("issues.opened")
    async def action_one() -> int:
        order.append("action_one")
        return 1

    @github_app.on("issues")
    def bare_one() -> int:
        order.append("bare_one")
        return 2

    @github_app.on("issues.opened")
    def action_two() -> int:
        order.append("action_two")
        return 3

    @github_app.on("issues")
    async def bare_two() -> int:
        order.append("bare_two")
        return 4

    @github_app.on("issues.closed")
    def other() -> None:
        order.append("other")

    response = await post(app)
    assert order == ["bare_one", "bare_two", "action_one", "action_two"]
    assert response.json()["calls"] == {"bare_one": 2, "bare_two": 4, "action_one": 1, "action_two": 3}
    assert list(response.json()["calls"]) == order


async def test_decorator_returns_the_function_and_mappings_are_kept() -> None:
    _, github_app = make()

    def handler() -> str:
        return "called directly"

    assert github_app.on("issues.opened")(handler) is handler
    assert handler() == "called directly"
    assert github_app._hook_mappings == {"issues.opened": [handler]}


def test_bad_registrations_fail_clearly() -> None:
    github_app = GitHubApp(github_app_secret=SECRET)
    with pytest.raises(ValueError, match=r"issues\.opened"):
        github_app.on("Issues Opened")(lambda: None)
    with pytest.raises(TypeError, match="requires: a, b"):
        github_app.on("issues")(lambda a, b: None)
    with pytest.raises(ValueError, match="background=True"):
        github_app.on("issues", timeout=3)(lambda: None)
    with pytest.raises(ValueError, match="retries"):
        github_app.on("issues", background=True, retries=-1)(lambda: None)


async def test_handler_exception_is_500_and_a_redelivery_runs_again(caplog: pytest.LogCaptureFixture) -> None:
    app, github_app = make()
    attempts: list[int] = []

    @github_app.on("issues.opened")
    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("boom")
        return "ok"

    first = await post(app, delivery="d-1")
    assert first.status_code == 500
    assert "flaky" in first.json()["detail"]["description"]
    assert "boom" in caplog.text  # logged with its traceback
    second = await post(app, delivery="d-1")  # GitHub's redelivery of the failed delivery
    assert second.status_code == 200
    assert second.json()["calls"] == {"flaky": "ok"}
    assert len(attempts) == 2


async def test_redelivered_id_is_acknowledged_but_not_processed_twice() -> None:
    app, github_app = make()
    runs: list[str | None] = []

    @github_app.on("issues.opened")
    async def once() -> str:
        runs.append(github_app.delivery_id)
        return "done"

    first = await post(app, delivery="abc")
    again = await post(app, delivery="abc")
    other = await post(app, delivery="def")
    no_id = [await post(app), await post(app)]  # without an id nothing can be deduplicated
    assert first.json()["status"] == "HIT"
    assert again.status_code == 200
    assert again.json()["status"] == "DUPLICATE"
    assert other.json()["status"] == "HIT"
    assert all(r.json()["status"] == "HIT" for r in no_id)
    assert runs == ["abc", "def", None, None]


async def test_forged_delivery_does_not_poison_the_delivery_ids() -> None:
    app, github_app = make()
    runs: list[str] = []
    github_app.on("issues")(lambda: runs.append("x"))
    assert (await post(app, secret="forged", delivery="same-id")).status_code == 400
    assert (await post(app, delivery="same-id")).json()["status"] == "HIT"
    assert runs == ["x"]


def test_delivery_log_is_bounded() -> None:
    log = DeliveryLog(maxsize=3)
    assert all(log.claim(str(i)) for i in range(5))
    assert len(log) == 3
    assert "0" not in log and "4" in log
    assert log.claim("0")  # forgotten, so accepted again
    assert not log.claim("4")
    log.release("4")
    assert log.claim("4")


async def test_results_are_json_encoded() -> None:
    import datetime

    from pydantic import BaseModel

    class Result(BaseModel):
        ok: bool

    app, github_app = make()
    github_app.on("issues")(lambda: {"model": Result(ok=True), "when": datetime.date(2024, 1, 2), "tags": ("a",)})
    response = await post(app)
    assert response.json()["calls"]["<lambda>"] == {"model": {"ok": True}, "when": "2024-01-02", "tags": ["a"]}


# -- mounting ---------------------------------------------------------------------------------------


async def test_init_app_later_mounts_the_default_route_and_creates_config() -> None:
    app = FastAPI()
    github_app = GitHubApp(github_app_secret=SECRET)
    github_app.init_app(app)
    routes = len(app.routes)
    github_app.init_app(app, route="/elsewhere")  # idempotent: ignored
    assert len(app.routes) == routes
    github_app.on("issues")(lambda: "ok")
    assert app.config["GITHUBAPP_WEBHOOK_SECRET"] == SECRET  # type: ignore[attr-defined]
    assert (await post(app)).status_code == 200
    assert (await post(app, path="/elsewhere")).status_code == 404


async def test_webhook_path_from_config_is_honoured() -> None:
    app = FastAPI()
    app.config = {"GITHUBAPP_WEBHOOK_PATH": "/hooks/gh", "GITHUBAPP_WEBHOOK_SECRET": SECRET}  # type: ignore[attr-defined]
    github_app = GitHubApp(app)
    github_app.on("issues")(lambda: "ok")
    assert (await post(app, path="/hooks/gh")).status_code == 200
    assert (await post(app)).status_code == 404


async def test_explicit_route_wins() -> None:
    app = FastAPI()
    app.config = {"GITHUBAPP_WEBHOOK_PATH": "/from-config"}  # type: ignore[attr-defined]
    github_app = GitHubApp(app, github_app_secret=SECRET, github_app_route="/explicit")
    github_app.on("issues")(lambda: "ok")
    assert (await post(app, path="/explicit")).status_code == 200
    app2 = FastAPI()
    github_app2 = GitHubApp(github_app_secret=SECRET)
    github_app2.init_app(app2, route="/init-route")
    github_app2.on("issues")(lambda: "ok")
    assert (await post(app2, path="/init-route")).status_code == 200


async def test_plain_asgi_app_without_fastapi() -> None:
    github_app = GitHubApp(github_app_secret=SECRET)
    github_app.on("issues.opened")(lambda: "plain")
    asgi = github_app.asgi_app()
    response = await post(asgi)
    assert response.json() == {"status": "HIT", "calls": {"<lambda>": "plain"}}
    assert (await post(github_app)).status_code == 200  # the GitHubApp itself is an ASGI app
    assert (await post(asgi, path="/other")).status_code == 404
    assert (await post(asgi, secret="bad")).status_code == 400
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://test") as client:
        assert (await client.get(DEFAULT_ROUTE)).status_code == 405


def test_plain_asgi_import_does_not_need_fastapi() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['fastapi'] = None; sys.modules['starlette'] = None\n"
        "import githubapp\n"
        "app = githubapp.GitHubApp(github_app_secret='x').asgi_app()\n"
        "assert 'fastapi' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


async def test_big_body_is_verified_and_decoded_off_the_event_loop() -> None:
    import threading

    app, github_app = make()
    loop_thread = threading.get_ident()
    seen: list[int] = []

    @github_app.on("issues.opened")
    async def big() -> int:
        seen.append(len(github_app.payload["pad"]))
        return threading.get_ident()

    payload = {"action": "opened", "pad": "x" * (2 * 1024 * 1024)}
    response = await post(app, payload)
    assert response.status_code == 200
    assert seen == [2 * 1024 * 1024]
    assert response.json()["calls"]["big"] == loop_thread  # handlers still run on the loop
    assert (await post(app, payload, secret="bad", delivery="big-bad")).status_code == 400
