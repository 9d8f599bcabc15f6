"""Webhook signature verification: HMAC-SHA256 over the raw body, compared in constant time.

GitHub signs each delivery with the webhook secret and sends ``X-Hub-Signature-256:
sha256=<hex>``. Several secrets may be configured while one is rotated; a delivery signed with
any of them is accepted::

    secrets = webhook_secrets(["new-secret", "old-secret"])
    verify_signature(body, headers.get("x-hub-signature-256"), secrets)      # -> bool

A secret that is not configured fails closed (:class:`WebhookSecretMissing`); only ``False``
disables verification.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

__all__ = ["SIGNATURE_HEADER", "WebhookSecretMissing", "sign", "verify_signature", "webhook_secrets"]

SIGNATURE_HEADER = "x-hub-signature-256"


class WebhookSecretMissing(RuntimeError):
    """No webhook secret is configured and verification was not disabled with ``False``."""


def webhook_secrets(value: Any) -> tuple[bytes, ...] | None:
    """Normalise a configured secret: ``None`` = verification disabled (``False``), else 1+ secrets.

    Accepts ``str``, ``bytes`` or a list/tuple of them (rotation). ``None`` or an empty value
    raises :class:`WebhookSecretMissing` (fail closed).
    """
    if value is False:
        return None
    if value is None or value is True:
        raise WebhookSecretMissing(
            "no webhook secret configured (GITHUBAPP_WEBHOOK_SECRET / github_app_secret): every delivery is "
            "rejected; set the secret, or pass github_app_secret=False to disable verification"
        )
    items: Iterable[Any] = value if isinstance(value, list | tuple | set | frozenset) else (value,)
    secrets: list[bytes] = []
    for item in items:
        if isinstance(item, str):
            item = item.encode()
        if not isinstance(item, bytes | bytearray):
            raise TypeError(f"webhook secret must be str or bytes, got {type(item).__name__}")
        if item:
            secrets.append(bytes(item))
    if not secrets:
        raise WebhookSecretMissing("the configured webhook secret is empty: every delivery is rejected")
    return tuple(secrets)


def sign(secret: bytes | str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body`` (useful in tests)."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, signature: str | None, secrets: tuple[bytes, ...]) -> bool:
    """``True`` when ``signature`` (``sha256=<hex>``) matches ``body`` under one of ``secrets``.

    Every secret is checked (no early exit), each with :func:`hmac.compare_digest`.
    """
    if not signature or not signature.startswith("sha256="):
        return False
    given = signature.strip().encode("ascii", "replace")
    ok = False
    for secret in secrets:
        expected = ("sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()).encode()
        ok |= hmac.compare_digest(given, expected)
    return ok
