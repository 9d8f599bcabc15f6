"""GitHub OAuth2 user login for the app (the 0.2.7 routes), with stateless session tokens.

The routes (FastAPI only, see :mod:`githubapp.app.integration`) are mounted by :meth:`GitHubApp.init_app` under ``oauth_routes_prefix`` (``/auth/github``) when a
client id, a client secret and a session secret are configured and OAuth is enabled:

- ``GET  {prefix}/login``     -> ``{"auth_url": ...}`` (redirect the user there)
- ``GET  {prefix}/callback``  -> ``{"user": {...}, "session_token": "<jwt>"}``
- ``POST {prefix}/logout``    -> ``{"status": "logged_out"}``
- ``GET  {prefix}/user``      -> the session's claims (``Authorization: Bearer <session_token>``
  or a ``session_token`` cookie)

The ``state`` parameter is required on the callback and must come from a recent ``/login``
(CSRF protection); states expire after 10 minutes and at most 10,000 are kept.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

__all__ = ["GitHubOAuth2", "SessionManager"]

STATE_TTL = 600.0
MAX_STATES = 10_000


class SessionManager:
    """Short-lived HS256 session tokens for users who logged in with GitHub (0.2.7 compatible)."""

    def __init__(self, secret_key: str, algorithm: str = "HS256") -> None:
        if not secret_key:
            raise ValueError("session secret must not be empty")
        self.secret_key = secret_key
        self.algorithm = algorithm

    def __repr__(self) -> str:
        return f"SessionManager(algorithm={self.algorithm!r})"

    def create_session_token(self, user: dict[str, Any], *, expires_in_seconds: int = 86400) -> str:
        now = datetime.now(tz=UTC)
        claims = {
            "sub": str(user.get("id")),
            "login": user.get("login"),
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=expires_in_seconds)).timestamp()),
            "type": "session",
        }
        return jwt.encode(claims, self.secret_key, algorithm=self.algorithm)

    def verify_session_token(self, token: str) -> dict[str, Any]:
        data: dict[str, Any] = jwt.decode(token, self.secret_key, algorithms=[self.algorithm])
        if data.get("type") != "session":
            raise jwt.InvalidTokenError("Invalid token type")
        return data


class GitHubOAuth2:
    """The GitHub OAuth2 web flow: authorization URL, code exchange, user info."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        redirect_uri: str | None = None,
        scopes: list[str] | None = None,
        base_url: str = "https://github.com",
        api_url: str = "https://api.github.com",
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.scopes = scopes or ["user:email", "read:user"]
        self.base_url = base_url.rstrip("/")
        self.api_url = api_url.rstrip("/")
        self._timeout = timeout or httpx.Timeout(10.0, connect=5.0)
        self._client: httpx.AsyncClient | None = None
        self._state_store: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def __repr__(self) -> str:
        return f"GitHubOAuth2(client_id={self.client_id!r}, redirect_uri={self.redirect_uri!r})"

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _prune(self, now: float) -> None:
        while self._state_store:
            oldest = next(iter(self._state_store.values()))
            if now - oldest["ts"] < STATE_TTL and len(self._state_store) < MAX_STATES:
                break
            self._state_store.popitem(last=False)

    def generate_auth_url(
        self,
        *,
        state: str | None = None,
        scopes: list[str] | None = None,
        redirect_uri: str | None = None,
        allow_signup: bool = True,
    ) -> str:
        """The GitHub authorization URL; the ``state`` is remembered for the callback."""
        from urllib.parse import urlencode

        now = time.time()
        self._prune(now)
        state = state or secrets.token_urlsafe(32)
        ru = redirect_uri or self.redirect_uri
        sc = scopes or self.scopes
        self._state_store[state] = {"ts": now, "redirect_uri": ru, "scopes": sc}
        params = {
            "client_id": self.client_id,
            "redirect_uri": ru,
            "scope": " ".join(sc),
            "state": state,
            "allow_signup": "true" if allow_signup else "false",
        }
        return f"{self.base_url}/login/oauth/authorize?{urlencode({k: v for k, v in params.items() if v is not None})}"

    async def exchange_code_for_token(self, code: str, state: str | None = None) -> dict[str, Any]:
        """Exchange the callback's ``code`` for a user token (``{"access_token", "scope", ...}``)."""
        redirect_uri = self.redirect_uri
        if state is not None:
            self._prune(time.time())
            entry = self._state_store.pop(state, None)
            if entry is None:
                raise ValueError("Invalid OAuth2 state parameter")
            redirect_uri = entry.get("redirect_uri")
        resp = await self._get_client().post(
            f"{self.base_url}/login/oauth/access_token",
            data={
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "code": code,
                **({"redirect_uri": redirect_uri} if redirect_uri else {}),
            },
            headers={"Accept": "application/json"},
        )
        if resp.status_code != 200:
            raise RuntimeError(f"OAuth2 token exchange failed ({resp.status_code})")
        data: dict[str, Any] = resp.json()
        if "error" in data:
            raise RuntimeError(data.get("error_description") or data["error"])
        return data

    async def get_user_info(self, access_token: str) -> dict[str, Any]:
        """The user's profile (and e-mails when the scope allows)."""
        client = self._get_client()
        headers = {
            "Authorization": f"Bearer {access_token}",
            "Accept": "application/vnd.github+json",
            "User-Agent": "githubapp-python/oauth",
        }
        user_resp = await client.get(f"{self.api_url}/user", headers=headers)
        if user_resp.status_code != 200:
            raise RuntimeError("Failed to fetch user info")
        user = user_resp.json()
        emails: list[dict[str, Any]] = []
        emails_resp = await client.get(f"{self.api_url}/user/emails", headers=headers)
        if emails_resp.status_code == 200:
            emails = emails_resp.json()
        return {
            "id": user.get("id"),
            "login": user.get("login"),
            "name": user.get("name"),
            "email": user.get("email"),
            "avatar_url": user.get("avatar_url"),
            "emails": emails,
        }
