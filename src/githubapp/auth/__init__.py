"""Credentials. A secret never appears in ``repr``, logs or exception text.

Every credential is an :class:`Auth`: the pipeline asks it for the ``Authorization`` header
inside the retry loop (so a retried request carries a fresh token) and tells it when GitHub
answered 401, so a refreshable credential can drop its token and the request is retried once::

    auth = TokenAuth("ghp_...")
    repr(auth)            # "TokenAuth(token='ghp_…***')"
    gh = AsyncGitHubClient(auth=auth)

The GitHub App framework plugs in installation tokens (:mod:`githubapp.auth.app`).
"""

from __future__ import annotations

import hashlib

__all__ = ["Auth", "TokenAuth", "mask", "identity_of"]


def mask(secret: str) -> str:
    """A printable hint of a secret: its first 4 characters at most, never enough to use it."""
    return (secret[:4] if len(secret) > 12 else "") + "…***"


def identity_of(*parts: object) -> str:
    """A stable, non-reversible id for cache keys and rate-limit state (never the raw secret)."""
    return hashlib.sha256("\x00".join(map(str, parts)).encode()).hexdigest()[:16]


class Auth:
    """How a client authenticates. Subclass and implement the header methods.

    ``identity``: a stable, non-secret id of *who* is calling (an installation, a user token);
    rate-limit state and cache entries are kept per identity.
    """

    identity: str = "anonymous"

    def authorization(self) -> str:
        """The ``Authorization`` header value (blocking; may fetch or refresh a token)."""
        raise NotImplementedError

    async def async_authorization(self) -> str:
        """The ``Authorization`` header value (async; may fetch or refresh a token)."""
        return self.authorization()

    def invalidate(self, authorization: str) -> bool:
        """GitHub answered 401 to ``authorization``. Drop it if cached; ``True`` when a retry
        may get a different, fresh credential (the pipeline then retries once)."""
        return False


class TokenAuth(Auth):
    """A static token sent as ``Authorization: Bearer <token>`` (PAT, OAuth or installation token)."""

    __slots__ = ("_token", "identity")

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or not token.strip():
            raise ValueError("token must be a non-empty string")
        if any(c in token for c in "\r\n"):
            raise ValueError("token must not contain line breaks")
        self._token = token.strip()
        self.identity = identity_of("token", self._token)

    def authorization(self) -> str:
        return f"Bearer {self._token}"

    def __repr__(self) -> str:
        return f"TokenAuth(token={mask(self._token)!r})"
