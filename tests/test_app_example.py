"""``examples/app.py --demo`` works end to end: uvicorn, a signed delivery, a background comment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "app.py"


@pytest.mark.slow
def test_example_app_demo() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUBAPP_", "GITHUB_API_URL"))}
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--demo"], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "delivery         202" in out
    assert "background task  completed after 1 attempt(s): https://github.com/octocat/hello-world/issues/1347" in out
    assert "'call': 'token', 'installation': 42" in out
    assert "Thanks for opening this issue, @octocat!" in out
