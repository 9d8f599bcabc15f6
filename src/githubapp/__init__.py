"""githubapp: a typed, async-first SDK for the GitHub REST API.

    from githubapp import AsyncGitHubClient

    async with AsyncGitHubClient(token="ghp_...") as gh:
        issue = await gh.issues.create(owner="octocat", repo="hello-world", title="Found a bug")

Public names are imported on first use (PEP 562), so ``import githubapp`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._operation import UNSET as UNSET
    from .app import GitHubApp as GitHubApp
    from .auth import Auth as Auth
    from .auth import TokenAuth as TokenAuth
    from .client import AsyncGitHubClient as AsyncGitHubClient
    from .config import ClientConfig as ClientConfig
    from .core import with_rate_limit_handling as with_rate_limit_handling
    from .errors import AsyncGitHubAPIError as AsyncGitHubAPIError
    from .errors import AsyncGitHubRateLimitError as AsyncGitHubRateLimitError
    from .errors import CircuitOpenError as CircuitOpenError
    from .errors import GitHubError as GitHubError
    from .graphql import GraphQLError as GraphQLError
    from .http.state import PipelineState as PipelineState
    from .sync import GitHubClient as GitHubClient

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "AsyncGitHubClient": ".client",
    "GitHubClient": ".sync",
    "ClientConfig": ".config",
    "TokenAuth": ".auth",
    "Auth": ".auth",
    "CircuitOpenError": ".errors",
    "GraphQLError": ".graphql",
    "PipelineState": ".http.state",
    "UNSET": "._operation",
    "GitHubError": ".errors",
    "AsyncGitHubAPIError": ".errors",
    "AsyncGitHubRateLimitError": ".errors",
    "GitHubApp": ".app",
    "with_rate_limit_handling": ".core",
}

__all__ = [
    "Auth",
    "AsyncGitHubAPIError",
    "AsyncGitHubClient",
    "AsyncGitHubRateLimitError",
    "CircuitOpenError",
    "ClientConfig",
    "GitHubApp",
    "GitHubClient",
    "GitHubError",
    "GraphQLError",
    "PipelineState",
    "TokenAuth",
    "UNSET",
    "with_rate_limit_handling",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
