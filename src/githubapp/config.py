"""``ClientConfig``: every client setting in one frozen, validated object.

Build it from keywords, from a mapping (a web app's ``config``) or from ``GITHUBAPP_CLIENT_*``
environment variables; a bad value fails at construction, naming the key and the value::

    config = ClientConfig(timeout=10, validation="strict")
    config = ClientConfig.from_env()                       # GITHUBAPP_CLIENT_TIMEOUT=10 ...
    config = ClientConfig.from_mapping(app.config)          # same keys, same names
    gh = AsyncGitHubClient(token="...", config=config)
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, TypedDict, get_args

__all__ = ["ClientConfig", "ClientSettings", "ConfigError", "DEFAULT_BASE_URL", "API_VERSION", "ENV_PREFIX"]

DEFAULT_BASE_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
ENV_PREFIX = "GITHUBAPP_CLIENT_"

Validation = Literal["lenient", "strict"]
Transport = Literal["httpx", "aiohttp"]


class ClientSettings(TypedDict, total=False):
    """The :class:`ClientConfig` fields as keywords of the client constructors (typo-checked)."""

    timeout: float
    pool_size: int
    keepalive_expiry: float
    user_agent: str
    api_version: str
    validation: Validation
    enable_cache: bool
    cache_ttl: float
    cache_fresh_for: float
    cache_max_bytes: int
    retry_attempts: int
    retry_backoff: float
    retry_max_delay: float
    max_rate_limit_wait: float
    secondary_rate_limit_wait: float
    breaker_threshold: int
    breaker_cooldown: float
    write_spacing: float
    max_concurrency: int
    transport: Transport


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key and the value."""


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Settings shared by :class:`~githubapp.AsyncGitHubClient` and :class:`~githubapp.GitHubClient`.

    ``validation``: ``"lenient"`` (default) keeps payloads that drift from the spec and reports
    them once; ``"strict"`` raises :class:`~githubapp.errors.ResponseValidationError` instead.

    Pipeline settings (see DESIGN.md "The request pipeline"):

    - ``enable_cache``, ``cache_ttl`` (s an entry lives and is revalidated with ETag /
      Last-Modified), ``cache_fresh_for`` (s an entry is served without asking; 0 = always
      revalidate), ``cache_max_bytes`` (LRU bound of stored bodies).
    - ``retry_attempts`` (retries after the first try), ``retry_backoff`` (s before the first
      retry, doubled each time, jittered), ``retry_max_delay`` (cap of one backoff wait).
    - ``max_rate_limit_wait`` (longest wait for a rate-limit reset before raising
      :class:`~githubapp.errors.AsyncGitHubRateLimitError`), ``secondary_rate_limit_wait`` (pause
      after a secondary limit without ``Retry-After``, doubled each time).
    - ``breaker_threshold`` (consecutive failures that open the circuit), ``breaker_cooldown``
      (s before one probe is let through).
    - ``write_spacing`` (s between writes of one identity; 0 disables), ``max_concurrency``
      (requests in flight per identity).
    - ``transport``: ``"httpx"`` (default) or ``"aiohttp"`` (async client only; faster under
      concurrency; needs the ``aiohttp`` extra). Both sit behind the same httpx API.
    """

    base_url: str = DEFAULT_BASE_URL
    timeout: float = 30.0
    pool_size: int = 10
    keepalive_expiry: float = 5.0
    user_agent: str = "githubapp-python"
    api_version: str = API_VERSION
    validation: Validation = "lenient"
    enable_cache: bool = True
    cache_ttl: float = 300.0
    cache_fresh_for: float = 0.0
    cache_max_bytes: int = 32 * 1024 * 1024
    retry_attempts: int = 3
    retry_backoff: float = 2.0
    retry_max_delay: float = 60.0
    max_rate_limit_wait: float = 60.0
    secondary_rate_limit_wait: float = 60.0
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0
    write_spacing: float = 1.0
    max_concurrency: int = 10
    transport: Transport = "httpx"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            kind = _KINDS[f.name]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, f.name, float(value))
            elif not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
                raise ConfigError(f"{f.name}: expected {kind.__name__}, got {type(value).__name__} {value!r}")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url: must start with http:// or https://, got {self.base_url!r}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        for name in ("timeout", "keepalive_expiry"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(f"{name}: must be a finite number > 0, got {value!r}")
        for name in _NON_NEGATIVE:
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name}: must be a finite number >= 0, got {value!r}")
        for name in ("pool_size", "breaker_threshold", "max_concurrency", "cache_max_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be >= 1, got {getattr(self, name)!r}")
        if not 0 <= self.retry_attempts <= 20:
            raise ConfigError(f"retry_attempts: must be between 0 and 20, got {self.retry_attempts!r}")
        if self.cache_fresh_for > self.cache_ttl:
            raise ConfigError(
                f"cache_fresh_for: must not exceed cache_ttl ({self.cache_ttl:g}), got {self.cache_fresh_for!r}"
            )
        if self.transport not in get_args(Transport):
            raise ConfigError(f"transport: must be one of {get_args(Transport)}, got {self.transport!r}")
        if self.validation not in get_args(Validation):
            raise ConfigError(f"validation: must be one of {get_args(Validation)}, got {self.validation!r}")

    def replace(self, **changes: Any) -> ClientConfig:
        """A copy with ``changes`` applied (validated again)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(f"unknown client setting(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], **overrides: Any) -> ClientConfig:
        """Read ``GITHUBAPP_CLIENT_<NAME>`` keys (strings are parsed) from ``mapping``."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = ENV_PREFIX + f.name.upper()
            if key in mapping:
                values[f.name] = _parse(key, _KINDS[f.name], mapping[key])
        values.update(overrides)
        return cls(**values)

    @classmethod
    def from_env(cls, **overrides: Any) -> ClientConfig:
        """Read ``GITHUBAPP_CLIENT_<NAME>`` environment variables."""
        return cls.from_mapping(os.environ, **overrides)


_KINDS: dict[str, type] = {
    "base_url": str,
    "timeout": float,
    "pool_size": int,
    "keepalive_expiry": float,
    "user_agent": str,
    "api_version": str,
    "validation": str,
    "enable_cache": bool,
    "cache_ttl": float,
    "cache_fresh_for": float,
    "cache_max_bytes": int,
    "retry_attempts": int,
    "retry_backoff": float,
    "retry_max_delay": float,
    "max_rate_limit_wait": float,
    "secondary_rate_limit_wait": float,
    "breaker_threshold": int,
    "breaker_cooldown": float,
    "write_spacing": float,
    "max_concurrency": int,
    "transport": str,
}

_NON_NEGATIVE = (
    "cache_ttl",
    "cache_fresh_for",
    "retry_backoff",
    "retry_max_delay",
    "max_rate_limit_wait",
    "secondary_rate_limit_wait",
    "breaker_cooldown",
    "write_spacing",
)


def _parse(key: str, kind: type, raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        return kind(raw.strip()) if kind is not str else raw
    except ValueError:
        raise ConfigError(f"{key}: expected {kind.__name__}, got {raw!r}") from None
