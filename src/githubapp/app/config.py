"""The ``GITHUBAPP_*`` configuration keys of the app framework.

``load_env`` copies environment variables into a config mapping (``app.config``) without
overwriting keys already set; :class:`AppSettings` reads the framework's own settings from that
mapping, validated, with a clear error naming the key::

    GitHubApp.load_env(app)                      # GITHUBAPP_ID, GITHUBAPP_PRIVATE_KEY, ...
    settings = AppSettings.from_mapping(app.config)
    settings.max_workers                          # GITHUBAPP_MAX_WORKERS, default 10

Client settings (``GITHUBAPP_CLIENT_*``) are read by :meth:`githubapp.ClientConfig.from_mapping`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, fields
from typing import Any

from ..config import ConfigError

__all__ = [
    "DEFAULT_ROUTE",
    "DEFAULT_OAUTH_PREFIX",
    "MAX_BODY_BYTES",
    "AppSettings",
    "load_env",
    "normalize_private_key",
]

DEFAULT_ROUTE = "/webhooks/github/"
DEFAULT_OAUTH_PREFIX = "/auth/github"
#: GitHub caps webhook payloads at 25 MB; bigger bodies are refused with 413.
MAX_BODY_BYTES = 25 * 1024 * 1024


def _truthy(raw: str) -> bool:
    return raw.strip().lower() in ("true", "1", "yes")


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _int(key: str) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            return int(raw.strip())
        except ValueError:
            raise ConfigError(f"{key}: expected an integer, got {raw!r}") from None

    return parse


def _str(raw: str) -> str:
    return raw


#: Environment variable -> how its string value is stored in the config (0.2.7 keys first).
_ENV_KEYS: dict[str, Callable[[str], Any]] = {
    "GITHUBAPP_ID": _int("GITHUBAPP_ID"),
    "GITHUBAPP_PRIVATE_KEY": _str,
    "GITHUBAPP_WEBHOOK_SECRET": _str,
    "GITHUBAPP_WEBHOOK_PATH": _str,
    "GITHUBAPP_OAUTH_CLIENT_ID": _str,
    "GITHUBAPP_OAUTH_CLIENT_SECRET": _str,
    "GITHUBAPP_OAUTH_SESSION_SECRET": _str,
    "GITHUBAPP_OAUTH_REDIRECT_URI": _str,
    "GITHUBAPP_OAUTH_SCOPES": _split,
    "GITHUBAPP_ENABLE_OAUTH": _truthy,
    "GITHUBAPP_OAUTH_ROUTES_PREFIX": _str,
    "GITHUBAPP_URL": _str,
    # framework settings (strings are parsed by AppSettings)
    "GITHUBAPP_MAX_WORKERS": _str,
    "GITHUBAPP_TASK_TIMEOUT": _str,
    "GITHUBAPP_TASK_RETRY_ATTEMPTS": _str,
    "GITHUBAPP_TASK_RETRY_DELAY": _str,
    "GITHUBAPP_TASK_QUEUE_SIZE": _str,
    "GITHUBAPP_SHUTDOWN_TIMEOUT": _str,
    "GITHUBAPP_DELIVERY_CACHE_SIZE": _str,
    "GITHUBAPP_MAX_BODY_SIZE": _str,
}


def load_env(config: MutableMapping[str, Any], environ: Mapping[str, str] | None = None) -> None:
    """Copy ``GITHUBAPP_*`` environment variables into ``config`` unless already set there.

    Also copies every ``GITHUBAPP_CLIENT_*`` variable (client settings).
    """
    env = os.environ if environ is None else environ
    for key, convert in _ENV_KEYS.items():
        if key in env and key not in config:
            config[key] = convert(env[key])
    for key, value in env.items():
        if key.startswith("GITHUBAPP_CLIENT_") and key not in config:
            config[key] = value


def normalize_private_key(key: str | bytes) -> str | bytes:
    """Accept a PEM whose newlines were written as ``\\n`` (a common ``.env`` habit)."""
    if isinstance(key, str) and "\n" not in key and "\\n" in key:
        return key.replace("\\n", "\n")
    if isinstance(key, bytes) and b"\n" not in key and b"\\n" in key:
        return key.replace(b"\\n", b"\n")
    return key


@dataclass(frozen=True, slots=True)
class AppSettings:
    """Settings of the webhook endpoint and the background task manager.

    ``max_workers``: background handlers running at once (``GITHUBAPP_MAX_WORKERS``).
    ``task_timeout``: seconds one attempt of a background task may run (``GITHUBAPP_TASK_TIMEOUT``).
    ``task_retry_attempts``: retries after a failed attempt (``GITHUBAPP_TASK_RETRY_ATTEMPTS``;
    0 by default: a handler with side effects is not run twice unless you say so).
    ``task_retry_delay``: first retry delay in seconds, doubled per retry (``GITHUBAPP_TASK_RETRY_DELAY``).
    ``task_queue_size``: background tasks waiting for a worker before deliveries get 503.
    ``shutdown_timeout``: seconds to drain running tasks on shutdown before cancelling them.
    ``delivery_cache_size``: recent ``X-GitHub-Delivery`` ids remembered to skip redeliveries.
    """

    max_workers: int = 10
    task_timeout: float = 300.0
    task_retry_attempts: int = 0
    task_retry_delay: float = 5.0
    task_queue_size: int = 1000
    shutdown_timeout: float = 30.0
    delivery_cache_size: int = 10_000
    max_body_bytes: int = MAX_BODY_BYTES

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            kind = float if f.type == "float" else int
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{_KEYS[f.name]}: expected a number, got {type(value).__name__} {value!r}")
            if kind is int and not isinstance(value, int):
                raise ConfigError(f"{_KEYS[f.name]}: expected an integer, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"{_KEYS[f.name]}: must be a finite number >= 0, got {value!r}")
            if kind is float:
                object.__setattr__(self, f.name, float(value))
        for name in ("max_workers", "task_queue_size", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{_KEYS[name]}: must be >= 1, got {getattr(self, name)!r}")
        if self.task_timeout <= 0:
            raise ConfigError(f"GITHUBAPP_TASK_TIMEOUT: must be > 0, got {self.task_timeout!r}")

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> AppSettings:
        """Read the ``GITHUBAPP_*`` keys of ``config`` (strings from the environment are parsed)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = _KEYS[f.name]
            if key not in config or config[key] is None:
                continue
            raw = config[key]
            if isinstance(raw, str):
                try:
                    raw = int(raw) if f.type == "int" else float(raw)
                except ValueError:
                    kind = "an integer" if f.type == "int" else "a number"
                    raise ConfigError(f"{key}: expected {kind}, got {raw!r}") from None
            values[f.name] = raw
        return cls(**values)


_KEYS = {
    "max_workers": "GITHUBAPP_MAX_WORKERS",
    "task_timeout": "GITHUBAPP_TASK_TIMEOUT",
    "task_retry_attempts": "GITHUBAPP_TASK_RETRY_ATTEMPTS",
    "task_retry_delay": "GITHUBAPP_TASK_RETRY_DELAY",
    "task_queue_size": "GITHUBAPP_TASK_QUEUE_SIZE",
    "shutdown_timeout": "GITHUBAPP_SHUTDOWN_TIMEOUT",
    "delivery_cache_size": "GITHUBAPP_DELIVERY_CACHE_SIZE",
    "max_body_bytes": "GITHUBAPP_MAX_BODY_SIZE",
}
