"""Credentials. A token never appears in ``repr``, logs or exception text.

    auth = TokenAuth("ghp_...")
    repr(auth)            # "TokenAuth(token='ghp_…***')"
"""

from __future__ import annotations

import hashlib

__all__ = ["TokenAuth", "mask"]


def mask(secret: str) -> str:
    """A printable hint of a secret: its first 4 characters at most, never enough to use it."""
    return (secret[:4] if len(secret) > 12 else "") + "…***"


class TokenAuth:
    """A static token sent as ``Authorization: Bearer <token>`` (PAT, OAuth or installation token)."""

    __slots__ = ("_token", "identity")

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or not token.strip():
            raise ValueError("token must be a non-empty string")
        if any(c in token for c in "\r\n"):
            raise ValueError("token must not contain line breaks")
        self._token = token.strip()
        #: stable, non-reversible id of this credential (cache keys, rate-limit state)
        self.identity = hashlib.sha256(self._token.encode()).hexdigest()[:16]

    def authorization(self) -> str:
        return f"Bearer {self._token}"

    def __repr__(self) -> str:
        return f"TokenAuth(token={mask(self._token)!r})"
