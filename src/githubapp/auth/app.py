"""GitHub App credentials: the app's own JWT and cached installation tokens.

Authenticate as the app (``Authorization: Bearer <jwt>``, e.g. to list installations)::

    auth = AppAuth(12345, private_key_pem)
    async with AsyncGitHubClient(auth=auth) as gh:
        installations = await gh.apps.list_installations()

Authenticate as an installation; tokens are fetched once, cached, refreshed when less than five
minutes remain, and concurrent callers share one refresh::

    tokens = InstallationTokenProvider(12345, private_key_pem)
    async with AsyncGitHubClient(auth=tokens.auth_for(42)) as gh:
        await gh.issues.create_comment("o", "r", 1, body="Hi")
    token = await tokens.get_token(42)           # InstallationToken(token='ghs_…***', ...)
    await tokens.aclose()

Secrets (the private key, JWTs, installation tokens) never appear in ``repr``, logs or errors.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Self

import anyio
import jwt
import sniffio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from . import Auth, identity_of, mask

if TYPE_CHECKING:
    import httpx

    from ..client import AsyncGitHubClient
    from ..config import ClientConfig
    from ..sync import GitHubClient

__all__ = [
    "AppJWT",
    "AppAuth",
    "InstallationToken",
    "InstallationTokenProvider",
    "InstallationAuth",
    "parse_expires_at",
    "JWT_BACKDATE",
    "JWT_LIFETIME",
    "JWT_REUSE_MARGIN",
    "TOKEN_REFRESH_MARGIN",
]

logger = logging.getLogger("githubapp")

#: ``iat`` is set this many seconds in the past (clock drift between us and GitHub).
JWT_BACKDATE = 60
#: ``exp`` is this many seconds after now (GitHub accepts at most 10 minutes).
JWT_LIFETIME = 540
#: a JWT is rebuilt once fewer than this many seconds of its lifetime remain.
JWT_REUSE_MARGIN = 60
#: an installation token is refreshed once fewer than this many seconds remain (5 minutes).
TOKEN_REFRESH_MARGIN = 300.0

DEFAULT_BASE_URL = "https://api.github.com"

_Key = tuple[str, str, int, tuple[str, ...] | None, tuple[tuple[str, str], ...] | None]


# -- validation helpers ---------------------------------------------------------------------------


def _check_app_id(app_id: int | str) -> str:
    """The app id (or client id) as the ``iss`` string; a clear error for anything else."""
    if isinstance(app_id, bool) or not isinstance(app_id, int | str):
        raise TypeError(f"app_id: expected an int or a str, got {type(app_id).__name__} {app_id!r}")
    text = str(app_id).strip()
    if isinstance(app_id, int) and app_id <= 0:
        raise ValueError(f"app_id: must be a positive integer, got {app_id!r}")
    if not text or any(c.isspace() for c in text):
        raise ValueError(f"app_id: must be a non-empty id without whitespace, got {app_id!r}")
    return text


def _load_private_key(private_key: str | bytes) -> RSAPrivateKey:
    """Load a PEM RSA private key. Errors never quote the key."""
    if isinstance(private_key, str):
        data = private_key.encode()
    elif isinstance(private_key, bytes | bytearray):
        data = bytes(private_key)
    else:
        raise TypeError(f"private_key: expected PEM text (str or bytes), got {type(private_key).__name__}")
    data = data.strip()
    if not data:
        raise ValueError("private_key: is empty; pass the PEM private key of the GitHub App")
    if b"\n" not in data and b"\\n" in data:  # a PEM pasted into an env var with literal "\n"
        data = data.replace(b"\\n", b"\n")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ValueError("private_key: encrypted private keys are not supported; pass an unencrypted PEM key") from None
    except Exception:
        raise ValueError(
            "private_key: not a valid PEM-encoded RSA private key (expected '-----BEGIN RSA PRIVATE KEY-----' "
            "or '-----BEGIN PRIVATE KEY-----' as GitHub generates it)"
        ) from None
    if not isinstance(key, RSAPrivateKey):
        raise ValueError(f"private_key: GitHub Apps sign with RSA (RS256), got a {type(key).__name__.lstrip('_')} key")
    return key


def _check_installation_id(installation_id: int | str) -> int:
    if isinstance(installation_id, bool):
        raise TypeError(f"installation_id: expected an int, got {installation_id!r}")
    if isinstance(installation_id, str) and installation_id.strip().isdigit():
        installation_id = int(installation_id.strip())
    if not isinstance(installation_id, int) or installation_id <= 0:
        raise ValueError(f"installation_id: must be a positive integer, got {installation_id!r}")
    return installation_id


def _norm_repositories(repositories: Iterable[str] | None) -> tuple[str, ...] | None:
    if repositories is None:
        return None
    if isinstance(repositories, str | bytes):
        raise TypeError(f"repositories: expected a list of repository names, got the string {repositories!r}")
    names = tuple(repositories)
    if not names:
        raise ValueError("repositories: is empty; pass None for every repository the installation can access")
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"repositories: expected non-empty repository names, got {name!r}")
    return tuple(sorted(set(names)))


def _norm_permissions(permissions: Mapping[str, str] | None) -> tuple[tuple[str, str], ...] | None:
    if permissions is None:
        return None
    if not isinstance(permissions, Mapping):
        raise TypeError(f"permissions: expected a mapping like {{'issues': 'write'}}, got {type(permissions).__name__}")
    if not permissions:
        raise ValueError("permissions: is empty; pass None for every permission the installation has")
    for name, level in permissions.items():
        if not isinstance(name, str) or not isinstance(level, str) or not name or not level:
            raise ValueError(f"permissions: expected {{name: level}} strings, got {name!r}: {level!r}")
    return tuple(sorted(permissions.items()))


def parse_expires_at(value: datetime | str | float) -> datetime:
    """An expiry as an aware UTC datetime: ISO 8601 (``"2026-11-28T20:00:00Z"``), a datetime (naive
    means UTC) or a Unix timestamp.

    >>> parse_expires_at("2026-11-28T20:00:00Z")
    datetime.datetime(2026, 11, 28, 20, 0, tzinfo=datetime.timezone.utc)
    """
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"expires_at: not an ISO 8601 date-time: {value!r}") from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"expires_at: not a finite timestamp: {value!r}")
        when = datetime.fromtimestamp(value, UTC)
    else:
        raise TypeError(f"expires_at: expected a datetime, an ISO 8601 string or a timestamp, got {value!r}")
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _timestamp(now: datetime | float | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        return parse_expires_at(now).timestamp()
    return float(now)


# -- the app's JWT ------------------------------------------------------------------------------


class AppJWT:
    """The GitHub App's JSON Web Token (RS256), reused until 60 s before it expires.

    Claims: ``iat = now - 60``, ``exp = now + 540``, ``iss = str(app_id)``. Thread-safe::

        app_jwt = AppJWT(12345, open("app.pem").read())
        headers = {"Authorization": f"Bearer {app_jwt.token()}"}

    A key that cannot be loaded raises :class:`ValueError` at construction, never quoting it.
    """

    __slots__ = ("_app_id", "_clock", "_expires", "_key", "_lock", "_token")

    def __init__(self, app_id: int | str, private_key: str | bytes, *, clock: Callable[[], float] = time.time) -> None:
        self._app_id = _check_app_id(app_id)
        self._key = _load_private_key(private_key)
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0

    @property
    def app_id(self) -> str:
        """The app id as sent in ``iss``."""
        return self._app_id

    def token(self) -> str:
        """The current JWT; a new one once fewer than 60 s of the old one remain."""
        now = self._clock()
        with self._lock:
            if self._token is not None and now < self._expires - JWT_REUSE_MARGIN:
                return self._token
            issued = math.floor(now)
            claims = {"iat": issued - JWT_BACKDATE, "exp": issued + JWT_LIFETIME, "iss": self._app_id}
            self._token = jwt.encode(claims, self._key, algorithm="RS256")
            self._expires = issued + JWT_LIFETIME
            return self._token

    def clear(self) -> None:
        """Forget the cached JWT (the next :meth:`token` builds a new one)."""
        with self._lock:
            self._token = None
            self._expires = 0

    def __repr__(self) -> str:
        return f"AppJWT(app_id={self._app_id!r})"


class AppAuth(Auth):
    """Authenticate as the GitHub App itself (``Authorization: Bearer <jwt>``).

    Use it for the ``/app`` endpoints (list installations, mint installation tokens)::

        async with AsyncGitHubClient(auth=AppAuth(12345, pem)) as gh:
            app = await gh.apps.get_authenticated()
    """

    __slots__ = ("_jwt", "base_url", "identity")

    def __init__(
        self,
        app_id: int | str,
        private_key: str | bytes,
        *,
        base_url: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._init(AppJWT(app_id, private_key, clock=clock), base_url)

    def _init(self, app_jwt: AppJWT, base_url: str | None) -> None:
        self._jwt = app_jwt
        self.base_url = base_url.rstrip("/") if base_url else None
        parts = ("app", self.base_url, app_jwt.app_id) if self.base_url else ("app", app_jwt.app_id)
        self.identity = identity_of(*parts)

    @classmethod
    def from_jwt(cls, app_jwt: AppJWT, *, base_url: str | None = None) -> AppAuth:
        """An :class:`AppAuth` that shares an existing :class:`AppJWT` (and its cached token)."""
        self = cls.__new__(cls)
        self._init(app_jwt, base_url)
        return self

    @property
    def app_id(self) -> str:
        return self._jwt.app_id

    @property
    def jwt(self) -> AppJWT:
        """The :class:`AppJWT` that signs this app's requests."""
        return self._jwt

    def authorization(self) -> str:
        return f"Bearer {self._jwt.token()}"

    def __repr__(self) -> str:
        base = f", base_url={self.base_url!r}" if self.base_url else ""
        return f"AppAuth(app_id={self._jwt.app_id!r}{base})"


# -- installation tokens ------------------------------------------------------------------------


@dataclass(frozen=True, repr=False, init=False)
class InstallationToken:
    """An installation access token and when it expires (aware UTC).

    ``expires_at`` may be given as GitHub sends it (``"2026-11-28T20:00:00Z"``)::

        tok = InstallationToken("ghs_abc...", "2026-11-28T20:00:00Z")
        tok.expires_in()        # seconds left
        tok.needs_refresh()     # True when fewer than 5 minutes remain
        repr(tok)               # "InstallationToken(token='ghs_…***', expires_at=...)"
    """

    token: str
    expires_at: datetime
    permissions: Mapping[str, str] | None = field(default=None, hash=False)
    repositories: tuple[str, ...] | None = None
    repository_selection: str | None = field(default=None, compare=False)

    def __init__(
        self,
        token: str,
        expires_at: datetime | str | float,
        permissions: Mapping[str, str] | None = None,
        repositories: Iterable[str] | None = None,
        repository_selection: str | None = None,
    ) -> None:
        if not isinstance(token, str) or not token.strip():
            raise ValueError("token: must be a non-empty string")
        object.__setattr__(self, "token", token)
        object.__setattr__(self, "expires_at", parse_expires_at(expires_at))
        object.__setattr__(self, "permissions", None if permissions is None else MappingProxyType(dict(permissions)))
        object.__setattr__(self, "repositories", None if repositories is None else tuple(repositories))
        object.__setattr__(self, "repository_selection", repository_selection)

    @classmethod
    def from_response(cls, data: Any) -> InstallationToken:
        """From the ``POST /app/installations/{id}/access_tokens`` answer (a dict or the generated model)."""

        def get(name: str) -> Any:
            return data.get(name) if isinstance(data, Mapping) else getattr(data, name, None)

        permissions = get("permissions")
        if permissions is not None and not isinstance(permissions, Mapping):
            permissions = permissions.model_dump(exclude_none=True, mode="json")
        repositories = get("repositories")
        names = None
        if repositories is not None:
            names = tuple(r["name"] if isinstance(r, Mapping) else r.name for r in repositories)
        token, expires_at = get("token"), get("expires_at")
        if not isinstance(token, str) or expires_at is None:
            raise ValueError("installation token response: 'token' or 'expires_at' is missing")
        return cls(
            token=token,
            expires_at=expires_at,
            permissions={str(k): str(v) for k, v in permissions.items()} if permissions else None,
            repositories=names,
            repository_selection=get("repository_selection"),
        )

    def expires_in(self, now: datetime | float | None = None) -> float:
        """Seconds until expiry at ``now`` (a Unix timestamp or datetime; default: the current time)."""
        return self.expires_at.timestamp() - _timestamp(now)

    def needs_refresh(self, now: datetime | float | None = None, margin: float = TOKEN_REFRESH_MARGIN) -> bool:
        """``True`` when fewer than ``margin`` seconds (5 minutes) remain."""
        return self.expires_in(now) < margin

    def expired(self, now: datetime | float | None = None) -> bool:
        """``True`` once the token has expired."""
        return self.expires_in(now) <= 0

    def __repr__(self) -> str:
        extra = ""
        if self.permissions is not None:
            extra += f", permissions={dict(self.permissions)!r}"
        if self.repositories is not None:
            extra += f", repositories={self.repositories!r}"
        return f"InstallationToken(token={mask(self.token)!r}, expires_at={self.expires_at.isoformat()!r}{extra})"


def _current_loop() -> object:
    """The running event loop (asyncio) or trio token: what async locks and clients are bound to."""
    if sniffio.current_async_library() == "trio":
        trio: Any = importlib.import_module("trio")
        return trio.lowlevel.current_trio_token()
    return asyncio.get_running_loop()


def _loop_closed(loop: object) -> bool:
    is_closed = getattr(loop, "is_closed", None)
    return bool(is_closed()) if callable(is_closed) else False


class InstallationTokenProvider:
    """Mints, caches and refreshes installation tokens for one GitHub App.

    Tokens are cached per (base URL, app id, installation, repositories, permissions) and
    refreshed when fewer than 5 minutes remain. Concurrent callers of the same key share one
    request (per event loop for :meth:`get_token`, per process for :meth:`get_token_sync`)::

        tokens = InstallationTokenProvider(12345, pem, http_client=shared_httpx_client)
        tok = await tokens.get_token(42, permissions={"issues": "write"})
        gh = AsyncGitHubClient(auth=tokens.auth_for(42), http_client=shared_httpx_client)

    The given ``http_client`` / ``sync_http_client`` are reused (one pool serves the app and its
    installations) and never closed here; clients the provider creates itself are closed by
    :meth:`aclose` / :meth:`close`.
    """

    def __init__(
        self,
        app_id: int | str,
        private_key: str | bytes,
        *,
        base_url: str = DEFAULT_BASE_URL,
        clock: Callable[[], float] = time.time,
        http_client: httpx.AsyncClient | None = None,
        sync_http_client: httpx.Client | None = None,
        config: ClientConfig | None = None,
    ) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url: must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._jwt = AppJWT(app_id, private_key, clock=clock)
        self.app_auth = AppAuth.from_jwt(self._jwt, base_url=self.base_url)
        self._clock = clock
        self._config = config
        self._http = http_client
        self._sync_http = sync_http_client
        self._guard = threading.Lock()
        self._tokens: dict[_Key, InstallationToken] = {}
        self._sync_locks: dict[_Key, threading.Lock] = {}
        self._async_locks: weakref.WeakKeyDictionary[object, dict[_Key, anyio.Lock]] = weakref.WeakKeyDictionary()
        self._async_clients: dict[object, AsyncGitHubClient] = {}
        self._sync_client: GitHubClient | None = None

    @property
    def app_id(self) -> str:
        return self._jwt.app_id

    def __repr__(self) -> str:
        return (
            f"InstallationTokenProvider(app_id={self.app_id!r}, base_url={self.base_url!r}, cached={len(self._tokens)})"
        )

    # -- keys and cache ---------------------------------------------------------------------------

    def _key(
        self, installation_id: int | str, repositories: Iterable[str] | None, permissions: Mapping[str, str] | None
    ) -> _Key:
        return (
            self.base_url,
            self.app_id,
            _check_installation_id(installation_id),
            _norm_repositories(repositories),
            _norm_permissions(permissions),
        )

    def _fresh(self, key: _Key) -> InstallationToken | None:
        token = self._tokens.get(key)
        if token is not None and not token.needs_refresh(self._clock()):
            return token
        return None

    def cached(
        self,
        installation_id: int | str,
        *,
        repositories: Iterable[str] | None = None,
        permissions: Mapping[str, str] | None = None,
    ) -> InstallationToken | None:
        """The cached token for this key if it is still fresh, without fetching."""
        return self._fresh(self._key(installation_id, repositories, permissions))

    def invalidate(
        self,
        installation_id: int | str,
        *,
        repositories: Iterable[str] | None = None,
        permissions: Mapping[str, str] | None = None,
        token: str | None = None,
    ) -> bool:
        """Drop the cached token (only if it is ``token``, when given); ``True`` if one was dropped."""
        return self._drop(self._key(installation_id, repositories, permissions), token)

    def _drop(self, key: _Key, token: str | None) -> bool:
        with self._guard:
            current = self._tokens.get(key)
            if current is None or (token is not None and current.token != token):
                return False
            del self._tokens[key]
            logger.debug("installation token dropped (installation %s)", key[2])
            return True

    def clear(self) -> None:
        """Drop every cached token."""
        with self._guard:
            self._tokens.clear()

    def _store(self, key: _Key, token: InstallationToken) -> None:
        with self._guard:
            self._tokens[key] = token

    # -- async --------------------------------------------------------------------------------------

    def _async_lock(self, key: _Key) -> anyio.Lock:
        loop = _current_loop()
        with self._guard:
            locks = self._async_locks.get(loop)
            if locks is None:
                locks = self._async_locks[loop] = {}
            lock = locks.get(key)
            if lock is None:
                lock = locks[key] = anyio.Lock()
            return lock

    def _async_client(self) -> AsyncGitHubClient:
        from ..client import AsyncGitHubClient

        loop = _current_loop()
        with self._guard:
            for other in [k for k in self._async_clients if _loop_closed(k)]:
                del self._async_clients[other]  # its connections died with its loop
            client = self._async_clients.get(loop)
            if client is None:
                client = self._async_clients[loop] = AsyncGitHubClient(
                    base_url=self.base_url,
                    config=self._config,
                    auth=self.app_auth,
                    http_client=self._http,
                    write_spacing=0.0,  # minting tokens creates no content: no need to space these POSTs
                )
            return client

    async def get_token(
        self,
        installation_id: int | str,
        *,
        repositories: Iterable[str] | None = None,
        permissions: Mapping[str, str] | None = None,
    ) -> InstallationToken:
        """The installation's token: cached, or fetched once for all concurrent callers."""
        key = self._key(installation_id, repositories, permissions)
        token = self._fresh(key)
        if token is not None:
            return token
        async with self._async_lock(key):
            token = self._fresh(key)
            if token is not None:
                return token
            client = self._async_client()
            result = await client.apps.create_installation_access_token(key[2], **self._body(key))
            token = InstallationToken.from_response(result)
            self._store(key, token)
            logger.debug("installation token minted (installation %s, expires %s)", key[2], token.expires_at)
            return token

    async def aclose(self) -> None:
        """Close the HTTP clients the provider created itself (given ones stay open)."""
        with self._guard:
            clients = list(self._async_clients.items())
            self._async_clients.clear()
        try:
            loop: object | None = _current_loop()
        except (RuntimeError, sniffio.AsyncLibraryNotFoundError):
            loop = None
        for owner, client in clients:
            if owner is loop:
                await client.aclose()
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- blocking ---------------------------------------------------------------------------------

    def _sync_lock(self, key: _Key) -> threading.Lock:
        with self._guard:
            lock = self._sync_locks.get(key)
            if lock is None:
                lock = self._sync_locks[key] = threading.Lock()
            return lock

    def _blocking_client(self) -> GitHubClient:
        from ..sync import GitHubClient

        with self._guard:
            if self._sync_client is None:
                self._sync_client = GitHubClient(
                    base_url=self.base_url,
                    config=self._config,
                    auth=self.app_auth,
                    http_client=self._sync_http,
                    write_spacing=0.0,
                )
            return self._sync_client

    def get_token_sync(
        self,
        installation_id: int | str,
        *,
        repositories: Iterable[str] | None = None,
        permissions: Mapping[str, str] | None = None,
    ) -> InstallationToken:
        """Blocking :meth:`get_token` (threads share one fetch per key)."""
        key = self._key(installation_id, repositories, permissions)
        token = self._fresh(key)
        if token is not None:
            return token
        with self._sync_lock(key):
            token = self._fresh(key)
            if token is not None:
                return token
            result = self._blocking_client().apps.create_installation_access_token(key[2], **self._body(key))
            token = InstallationToken.from_response(result)
            self._store(key, token)
            logger.debug("installation token minted (installation %s, expires %s)", key[2], token.expires_at)
            return token

    def close(self) -> None:
        """Close the blocking HTTP client if the provider created it."""
        with self._guard:
            client, self._sync_client = self._sync_client, None
        if client is not None:
            client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- shared -----------------------------------------------------------------------------------

    @staticmethod
    def _body(key: _Key) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if key[3] is not None:
            body["repositories"] = list(key[3])
        if key[4] is not None:
            body["permissions"] = dict(key[4])
        return body

    def auth_for(
        self,
        installation_id: int | str,
        repositories: Iterable[str] | None = None,
        permissions: Mapping[str, str] | None = None,
    ) -> InstallationAuth:
        """An :class:`Auth` for clients acting as this installation (tokens from this provider)."""
        return InstallationAuth(self, installation_id, repositories, permissions)


class InstallationAuth(Auth):
    """Authenticate as one installation, with tokens from an :class:`InstallationTokenProvider`.

    After a 401 the pipeline calls :meth:`invalidate`; the stale token is dropped and the retried
    request gets a fresh one::

        gh = AsyncGitHubClient(auth=provider.auth_for(42, permissions={"contents": "read"}))
    """

    __slots__ = ("_key", "identity", "provider")

    def __init__(
        self,
        provider: InstallationTokenProvider,
        installation_id: int | str,
        repositories: Iterable[str] | None = None,
        permissions: Mapping[str, str] | None = None,
    ) -> None:
        self.provider = provider
        self._key = provider._key(installation_id, repositories, permissions)
        self.identity = identity_of(*self._key)

    @property
    def installation_id(self) -> int:
        return self._key[2]

    def _kwargs(self) -> dict[str, Any]:
        repos, perms = self._key[3], self._key[4]
        return {"repositories": repos, "permissions": dict(perms) if perms is not None else None}

    async def async_authorization(self) -> str:
        token = await self.provider.get_token(self._key[2], **self._kwargs())
        return f"Bearer {token.token}"

    def authorization(self) -> str:
        token = self.provider.get_token_sync(self._key[2], **self._kwargs())
        return f"Bearer {token.token}"

    def invalidate(self, authorization: str) -> bool:
        """Drop the cached token if it is the one GitHub just rejected; a retry mints a new one."""
        scheme, _, value = authorization.partition(" ")
        token = value.strip() if scheme.lower() in ("bearer", "token") else authorization.strip()
        self.provider._drop(self._key, token)
        return True

    def __repr__(self) -> str:
        extra = ""
        if self._key[3] is not None:
            extra += f", repositories={list(self._key[3])!r}"
        if self._key[4] is not None:
            extra += f", permissions={dict(self._key[4])!r}"
        return f"InstallationAuth(app_id={self._key[1]!r}, installation_id={self._key[2]!r}{extra})"
