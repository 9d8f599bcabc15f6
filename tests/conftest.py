"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

# Hypothesis profiles, chosen with HYPOTHESIS_PROFILE: "default" explores new random examples each run;
# "ci" (set by .ci/run) draws the same examples every run, so CI is reproducible here;
# "stress" (before committing a property) tries 20x as many.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("stress", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def rsa_key() -> Any:
    """One RSA key for the tests that sign app JWTs (2048-bit key generation is slow)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def rsa_pem(rsa_key: Any) -> str:
    """:func:`rsa_key` as a PKCS#1 PEM, the format GitHub hands out."""
    from cryptography.hazmat.primitives import serialization

    return str(rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode())


@pytest.fixture
def anyio_backend() -> str:
    """Run ``@pytest.mark.anyio`` tests on asyncio only."""
    return "asyncio"


@pytest.fixture(scope="module")
def reuse_ssl_context() -> Iterator[None]:
    """Share one default TLS context between the many clients a module creates (~80 ms each otherwise).

    Only the default ``verify=True`` context is shared; opt in per module with
    ``pytestmark = pytest.mark.usefixtures("reuse_ssl_context")``.
    """
    import ssl

    from httpx._transports import default as transport

    original = transport.create_ssl_context
    cache: dict[bool, ssl.SSLContext] = {}

    def create(verify: Any = True, cert: Any = None, trust_env: bool = True) -> ssl.SSLContext:
        if verify is not True or cert is not None:
            return original(verify=verify, cert=cert, trust_env=trust_env)
        if trust_env not in cache:
            cache[trust_env] = original(verify=verify, cert=cert, trust_env=trust_env)
        return cache[trust_env]

    patch = pytest.MonkeyPatch()
    patch.setattr(transport, "create_ssl_context", create)
    yield
    patch.undo()
