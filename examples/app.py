"""A GitHub App: thank the author of every new issue, from a background task.

Serve it (configuration from the environment, webhook on POST /webhooks/github/)::

    export GITHUBAPP_ID=12345 GITHUBAPP_WEBHOOK_SECRET=... GITHUBAPP_PRIVATE_KEY="$(cat app.pem)"
    uvicorn app:app --app-dir examples --port 8000

Offline demo: starts this app under uvicorn, sends it a signed ``issues.opened`` delivery and
waits for the background handler, which comments on the issue through the async installation
client, against a local mock of the GitHub API (built in, or the one at ``GITHUB_API_URL``)::

    python examples/app.py --demo
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException

from githubapp import GitHubApp
from githubapp.webhooks import IssuesOpened

app = FastAPI()
GitHubApp.load_env(app)  # GITHUBAPP_ID, GITHUBAPP_PRIVATE_KEY, GITHUBAPP_WEBHOOK_SECRET, GITHUBAPP_URL, ...
github_app = GitHubApp(app)


@github_app.on("issues.opened", background=True, timeout=60)
async def thank_author(event: IssuesOpened) -> str:
    """Answered 202 at once; runs as a tracked task with the delivery's own context."""
    async with github_app.async_client() as gh:  # authenticated as the delivery's installation
        comment = await gh.issues.create_comment(
            event.repository.owner.login,
            event.repository.name,
            event.issue.number,
            body=f"Thanks for opening this issue, @{event.sender.login}! We will look at it soon.",
        )
    return comment.html_url


@github_app.on("ping")
def pong() -> str:
    return "pong"


@app.get("/healthz")
def healthz() -> dict[str, Any]:
    return {"status": "ok", "tasks": github_app.task_manager.stats()}


@app.get("/tasks/{task_id}")
async def task_status(task_id: str) -> dict[str, Any]:
    info = await github_app.get_task_status(task_id)
    if info is None:
        raise HTTPException(status_code=404, detail="unknown task")
    return {**info.to_dict(), "result": info.result}


# -- the offline demo (not needed to run the app) ---------------------------------------------------


def _mock_github() -> tuple[Any, list[dict[str, Any]]]:
    """A tiny stand-in for api.github.com: installation tokens and issue comments."""
    import time

    mock = FastAPI()
    calls: list[dict[str, Any]] = []

    @mock.post("/app/installations/{installation_id}/access_tokens", status_code=201)
    def token(installation_id: int) -> dict[str, Any]:
        calls.append({"call": "token", "installation": installation_id})
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        return {"token": f"ghs_demo_{installation_id}", "expires_at": expires}

    @mock.post("/repos/{owner}/{repo}/issues/{number}/comments", status_code=201)
    def comment(owner: str, repo: str, number: int, body: dict[str, Any]) -> dict[str, Any]:
        calls.append({"call": "comment", "issue": f"{owner}/{repo}#{number}", "body": body["body"]})
        return {
            "id": 1,
            "body": body["body"],
            "html_url": f"https://github.com/{owner}/{repo}/issues/{number}#issuecomment-1",
        }

    return mock, calls


def demo() -> int:
    import json
    import os
    import secrets
    import socket
    import subprocess
    import sys
    import tempfile
    import threading
    import time
    from pathlib import Path

    import httpx
    import uvicorn
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from githubapp.app import sign

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    def wait_for(url: str, seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                httpx.get(url, timeout=1)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"demo: {url} did not come up") from None
                time.sleep(0.1)

    calls: list[dict[str, Any]] | None = None
    api_url = os.environ.get("GITHUB_API_URL")
    if not api_url:  # no external mock given: run the built-in one
        mock, calls = _mock_github()
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(mock, host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        api_url = f"http://127.0.0.1:{port}"
        wait_for(f"{api_url}/docs")
    print(f"mock GitHub API  {api_url}")

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    secret = secrets.token_hex(16)
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "GITHUBAPP_ID": "1",
        "GITHUBAPP_PRIVATE_KEY": pem.decode(),
        "GITHUBAPP_WEBHOOK_SECRET": secret,
        "GITHUBAPP_URL": api_url,
        "GITHUBAPP_CLIENT_WRITE_SPACING": "0",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115 - read back on failure
    command = [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", str(Path(__file__).parent)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    server_process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    ok = False
    try:
        wait_for(f"{app_url}/healthz")
        print(f"app              {app_url}/webhooks/github/")
        payload = {
            "action": "opened",
            "issue": {"number": 1347, "title": "Found a bug", "user": {"login": "octocat"}},
            "repository": {"name": "hello-world", "full_name": "octocat/hello-world", "owner": {"login": "octocat"}},
            "sender": {"login": "octocat"},
            "installation": {"id": 42},
        }
        body = json.dumps(payload).encode()
        started = time.monotonic()
        response = httpx.post(
            f"{app_url}/webhooks/github/",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-GitHub-Event": "issues",
                "X-GitHub-Delivery": secrets.token_hex(8),
                "X-Hub-Signature-256": sign(secret, body),
            },
        )
        print(
            f"delivery         {response.status_code} {response.json()} in {1000 * (time.monotonic() - started):.0f} ms"
        )
        if response.status_code != 202:
            return 1
        task_id = response.json()["tasks"]["thank_author"]
        deadline = time.monotonic() + 30
        while True:
            status = httpx.get(f"{app_url}/tasks/{task_id}").json()
            if status["state"] in ("completed", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        print(
            f"background task  {status['state']} after {status['attempts']} attempt(s): {status['result'] or status['error']}"
        )
        if calls is not None:
            for call in calls:
                print(f"mock API saw     {call}")
        ok = status["state"] == "completed" and (calls is None or any(c["call"] == "comment" for c in calls))
        return 0 if ok else 1
    finally:
        server_process.terminate()  # graceful: the lifespan drains background tasks
        server_process.wait(timeout=30)
        log.seek(0)
        output = log.read()
        log.close()
        os.unlink(log.name)
        if not ok and output:
            print("---- app server log ----\n" + output, file=sys.stderr)


if __name__ == "__main__":
    import sys

    if "--demo" not in sys.argv[1:]:
        raise SystemExit(
            "usage: python examples/app.py --demo   (to serve the app: uvicorn app:app --app-dir examples)"
        )
    raise SystemExit(demo())
