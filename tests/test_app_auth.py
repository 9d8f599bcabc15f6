"""GitHub App auth: the app JWT, installation tokens, their cache and single-flight refresh."""

from __future__ import annotations

import itertools
import json
import threading
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import anyio
import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from githubapp.auth import Auth, identity_of
from githubapp.auth.app import (
    AppAuth,
    AppJWT,
    InstallationAuth,
    InstallationToken,
    InstallationTokenProvider,
    parse_expires_at,
)
from githubapp.errors import AsyncGitHubAPIError, NotFoundError

API = "https://api.github.com"
T0 = 1_800_000_000.0  # a fixed "now" (2027-01-15)


def _pem(key: rsa.RSAPrivateKey, fmt: serialization.PrivateFormat) -> str:
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def pem(rsa_key: rsa.RSAPrivateKey) -> str:
    """A PKCS#1 PEM, the format GitHub hands out."""
    return _pem(rsa_key, serialization.PrivateFormat.TraditionalOpenSSL)


@pytest.fixture(scope="module")
def public_pem(rsa_key: rsa.RSAPrivateKey) -> bytes:
    return rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _key_body(pem: str) -> str:
    """A distinctive chunk of the key material, to look for in text that must not contain it."""
    return pem.splitlines()[5]


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _decode(token: str, public_pem: bytes) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(
        token, public_pem, algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False}
    )
    return claims


# -- AppJWT -------------------------------------------------------------------------------------


def test_jwt_claims_signed_rs256(pem: str, public_pem: bytes) -> None:
    token = AppJWT(123456, pem, clock=Clock(T0 + 0.75)).token()
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert _decode(token, public_pem) == {"iat": int(T0) - 60, "exp": int(T0) + 540, "iss": "123456"}


def test_jwt_does_not_verify_with_another_key(pem: str) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    other_pem = other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(jwt.InvalidSignatureError):
        _decode(AppJWT(1, pem, clock=Clock()).token(), other_pem)


def test_jwt_iss_is_a_string_also_for_client_ids(pem: str, public_pem: bytes) -> None:
    assert _decode(AppJWT("Iv1.abc123", pem, clock=Clock()).token(), public_pem)["iss"] == "Iv1.abc123"
    assert _decode(AppJWT("42", pem, clock=Clock()).token(), public_pem)["iss"] == "42"


def test_jwt_accepts_pkcs8_bytes_and_escaped_newlines(rsa_key: rsa.RSAPrivateKey, public_pem: bytes) -> None:
    pkcs8 = _pem(rsa_key, serialization.PrivateFormat.PKCS8)
    for key in (pkcs8.encode(), pkcs8.replace("\n", "\\n")):
        assert _decode(AppJWT(7, key, clock=Clock()).token(), public_pem)["iss"] == "7"


@settings(max_examples=60, deadline=None)
@given(offset=st.floats(min_value=0, max_value=2000, allow_nan=False))
def test_jwt_reused_until_60s_before_expiry(pem: str, public_pem: bytes, offset: float) -> None:
    clock = Clock(T0)
    app_jwt = AppJWT(9, pem, clock=clock)
    first = app_jwt.token()
    clock.now = T0 + offset
    second = app_jwt.token()
    if offset < 480:  # exp is T0 + 540; rebuilt once fewer than 60 s remain
        assert second == first
    else:
        assert second != first
        claims = _decode(second, public_pem)
        assert claims["iat"] == int(T0 + offset) - 60
        assert claims["exp"] == int(T0 + offset) + 540


def test_jwt_rebuilt_exactly_at_the_margin(pem: str) -> None:
    clock = Clock(T0)
    app_jwt = AppJWT(9, pem, clock=clock)
    first = app_jwt.token()
    clock.now = T0 + 479.999
    assert app_jwt.token() == first
    clock.now = T0 + 480
    rebuilt = app_jwt.token()
    assert rebuilt != first
    clock.now = T0 + 959.9  # the rebuilt one is reused in turn
    assert app_jwt.token() == rebuilt


def test_jwt_thread_safe_one_signature(pem: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real_encode = jwt.encode

    def counting_encode(*args: Any, **kwargs: Any) -> str:
        nonlocal calls
        calls += 1
        return real_encode(*args, **kwargs)

    monkeypatch.setattr(jwt, "encode", counting_encode)
    app_jwt = AppJWT(9, pem, clock=Clock())
    barrier = threading.Barrier(16)
    seen: list[str] = []

    def work() -> None:
        barrier.wait()
        seen.append(app_jwt.token())

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 16 and len(set(seen)) == 1
    assert calls == 1


def test_bad_private_key_clear_error_without_key_text(pem: str) -> None:
    broken = pem.replace(_key_body(pem), "SECRETMARKERxyz" * 4)
    for bad in (broken, "SECRETMARKER not a key", b"SECRETMARKER"):
        with pytest.raises(ValueError, match="private_key") as info:
            AppJWT(1, bad)
        text = "".join(traceback.format_exception(info.value)) + repr(info.value)
        assert "SECRETMARKER" not in text
        assert _key_body(pem) not in text
    with pytest.raises(ValueError, match="empty"):
        AppJWT(1, "  ")
    with pytest.raises(TypeError, match="private_key"):
        AppJWT(1, None)  # type: ignore[arg-type]


def test_non_rsa_and_encrypted_keys_rejected(rsa_key: rsa.RSAPrivateKey) -> None:
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="RSA"):
        AppJWT(1, ec_pem)
    encrypted = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    with pytest.raises(ValueError, match="encrypted"):
        AppJWT(1, encrypted)


@pytest.mark.parametrize("app_id", [0, -3, "", "1 2", True, 1.5])
def test_bad_app_id_named(pem: str, app_id: Any) -> None:
    with pytest.raises((ValueError, TypeError), match="app_id"):
        AppJWT(app_id, pem)


# -- AppAuth ------------------------------------------------------------------------------------


def test_app_auth_header_identity_and_repr(pem: str, public_pem: bytes) -> None:
    auth = AppAuth(55, pem, clock=Clock())
    assert isinstance(auth, Auth)
    scheme, token = auth.authorization().split(" ")
    assert scheme == "Bearer"
    assert _decode(token, public_pem)["iss"] == "55"
    assert auth.invalidate(auth.authorization()) is False
    assert AppAuth(55, pem, base_url=API + "/").identity == identity_of("app", API, "55")
    assert AppAuth(55, pem).identity != AppAuth(56, pem).identity
    assert AppAuth(55, pem, base_url=API).identity != AppAuth(55, pem, base_url="https://ghe.example/api/v3").identity
    for text in (repr(auth), str(auth), repr(auth.jwt)):
        assert "55" in text
        assert _key_body(pem) not in text and "PRIVATE" not in text
        assert token not in text


@pytest.mark.anyio
async def test_app_auth_async_header(pem: str, public_pem: bytes) -> None:
    auth = AppAuth(55, pem)
    header = await auth.async_authorization()
    assert _decode(header.removeprefix("Bearer "), public_pem)["iss"] == "55"


# -- InstallationToken --------------------------------------------------------------------------


def test_expires_at_strings_parsed() -> None:
    tok = InstallationToken("ghs_" + "a" * 36, "2026-11-28T20:00:00Z")
    assert tok.expires_at == datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
    assert tok.expires_at.tzinfo is not None and tok.expires_at.utcoffset() == timedelta(0)
    assert parse_expires_at("2026-11-28T22:00:00+02:00") == datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
    assert parse_expires_at(datetime(2026, 11, 28, 20, 0)) == datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
    eastern = datetime(2026, 11, 28, 15, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert parse_expires_at(eastern) == datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
    assert parse_expires_at(T0) == datetime.fromtimestamp(T0, UTC)
    with pytest.raises(ValueError, match="not-a-date"):
        parse_expires_at("not-a-date")
    with pytest.raises(TypeError):
        parse_expires_at(None)  # type: ignore[arg-type]


@given(st.datetimes(timezones=st.timezones()))
def test_expires_at_roundtrip(when: datetime) -> None:
    parsed = parse_expires_at(when.isoformat())
    assert parsed.utcoffset() == timedelta(0)
    # same instant (compared in UTC: PEP 495 makes inter-zone == False for times in a DST gap or fold)
    assert parsed == when.astimezone(UTC)


@given(remaining=st.floats(min_value=-10_000, max_value=10_000, allow_nan=False))
def test_needs_refresh_below_five_minutes(remaining: float) -> None:
    tok = InstallationToken("ghs_" + "b" * 36, T0)
    now = T0 - remaining
    assert tok.expires_in(now) == pytest.approx(remaining, abs=1e-3)
    assert tok.needs_refresh(now) is (tok.expires_in(now) < 300)
    assert tok.expired(now) is (tok.expires_in(now) <= 0)


def test_token_repr_masks_secret() -> None:
    secret = "ghs_" + "S3CR3T" * 6
    tok = InstallationToken(secret, "2026-11-28T20:00:00Z", {"issues": "write"}, ["r1"])
    for text in (repr(tok), str(tok), f"{tok}"):
        assert secret not in text and "S3CR3T" not in text
        assert "2026-11-28T20:00:00+00:00" in text and "issues" in text
    with pytest.raises(ValueError, match="token"):
        InstallationToken("", "2026-11-28T20:00:00Z")


def test_token_from_response() -> None:
    tok = InstallationToken.from_response(
        {
            "token": "ghs_x" * 8,
            "expires_at": "2026-11-28T20:00:00Z",
            "permissions": {"issues": "write", "metadata": "read"},
            "repositories": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
            "repository_selection": "selected",
        }
    )
    assert tok.permissions == {"issues": "write", "metadata": "read"}
    assert tok.repositories == ("a", "b")
    assert tok.repository_selection == "selected"
    with pytest.raises(ValueError, match="expires_at"):
        InstallationToken.from_response({"token": "x"})


# -- the provider -------------------------------------------------------------------------------


class FakeGitHub:
    """Answers POST /app/installations/{id}/access_tokens with a new token each time."""

    def __init__(self, clock: Clock, public_pem: bytes, *, lifetime: float = 3600, delay: float = 0.0) -> None:
        self.clock = clock
        self.public_pem = public_pem
        self.lifetime = lifetime
        self.delay = delay
        self.counter = itertools.count(1)
        self.bodies: list[dict[str, Any]] = []
        self.jwts: list[str] = []

    def _answer(self, request: httpx.Request, installation_id: str) -> httpx.Response:
        header = request.headers["Authorization"]
        assert header.startswith("Bearer ")
        self.jwts.append(header.removeprefix("Bearer "))
        body = json.loads(request.content or b"{}")
        self.bodies.append(body)
        n = next(self.counter)
        expires = datetime.fromtimestamp(self.clock() + self.lifetime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        data: dict[str, Any] = {
            "token": f"ghs_inst{installation_id}_n{n:04d}_{'x' * 20}",
            "expires_at": expires,
            "permissions": body.get("permissions", {"issues": "write", "metadata": "read"}),
            "repository_selection": "selected" if "repositories" in body else "all",
        }
        if "repositories" in body:
            data["repositories"] = [{"id": i, "name": name} for i, name in enumerate(body["repositories"])]
        return httpx.Response(201, json=data)

    async def async_side_effect(self, request: httpx.Request, installation_id: str) -> httpx.Response:
        if self.delay:
            await anyio.sleep(self.delay)
        return self._answer(request, installation_id)

    def sync_side_effect(self, request: httpx.Request, installation_id: str) -> httpx.Response:
        if self.delay:
            threading.Event().wait(self.delay)
        return self._answer(request, installation_id)


ROUTE = API + r"/app/installations/(?P<installation_id>\d+)/access_tokens"


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def github(clock: Clock, public_pem: bytes) -> FakeGitHub:
    return FakeGitHub(clock, public_pem)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def mock(router: respx.MockRouter, github: FakeGitHub) -> respx.Route:
    return router.post(url__regex=ROUTE).mock(side_effect=github.async_side_effect)


@pytest.fixture
def sync_mock(github: FakeGitHub) -> Iterator[respx.Route]:
    with respx.mock(assert_all_called=False) as router:
        yield router.post(url__regex=ROUTE).mock(side_effect=github.sync_side_effect)


@pytest.fixture
def provider(pem: str, clock: Clock) -> InstallationTokenProvider:
    return InstallationTokenProvider(77, pem, clock=clock)


@pytest.mark.anyio
async def test_token_fetched_with_app_jwt_and_cached(
    provider: InstallationTokenProvider, mock: respx.Route, github: FakeGitHub, public_pem: bytes
) -> None:
    first = await provider.get_token(42)
    second = await provider.get_token(42)
    assert first is second
    assert mock.call_count == 1
    assert first.token.startswith("ghs_inst42_n0001")
    assert first.expires_at == datetime.fromtimestamp(T0 + 3600, UTC)
    request = mock.calls.last.request
    assert request.url.path == "/app/installations/42/access_tokens"
    assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert _decode(github.jwts[0], public_pem) == {"iat": int(T0) - 60, "exp": int(T0) + 540, "iss": "77"}
    assert github.bodies == [{}]
    assert provider.cached(42) is first
    await provider.aclose()


@pytest.mark.anyio
async def test_refreshed_when_less_than_five_minutes_remain(
    provider: InstallationTokenProvider, mock: respx.Route, clock: Clock
) -> None:
    first = await provider.get_token(42)
    clock.now = T0 + 3600 - 300  # exactly 5 minutes left: still good
    assert await provider.get_token(42) is first
    assert mock.call_count == 1
    clock.now = T0 + 3600 - 299.5  # less than 5 minutes left
    refreshed = await provider.get_token(42)
    assert refreshed.token != first.token
    assert mock.call_count == 2
    assert refreshed.expires_at == datetime.fromtimestamp(clock.now + 3600, UTC).replace(microsecond=0)
    assert provider.cached(42) is refreshed
    await provider.aclose()


@pytest.mark.anyio
async def test_single_flight_50_concurrent_callers(
    provider: InstallationTokenProvider, mock: respx.Route, github: FakeGitHub
) -> None:
    github.delay = 0.05  # the request takes a while, so callers really overlap
    results: list[InstallationToken] = []

    async def call() -> None:
        results.append(await provider.get_token(42))

    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(call)
    assert mock.call_count == 1
    assert len(results) == 50 and len({r.token for r in results}) == 1
    await provider.aclose()


@pytest.mark.anyio
async def test_single_flight_per_key_not_global(
    provider: InstallationTokenProvider, mock: respx.Route, github: FakeGitHub
) -> None:
    github.delay = 0.05
    results: dict[int, set[str]] = {1: set(), 2: set(), 3: set()}

    async def call(installation_id: int) -> None:
        results[installation_id].add((await provider.get_token(installation_id)).token)

    with anyio.fail_after(2):  # three keys fetched side by side, not one after another
        async with anyio.create_task_group() as tg:
            for i in range(30):
                tg.start_soon(call, 1 + i % 3)
    assert mock.call_count == 3
    assert all(len(tokens) == 1 for tokens in results.values())
    await provider.aclose()


@pytest.mark.anyio
async def test_failed_fetch_is_not_cached_and_waiters_retry(
    provider: InstallationTokenProvider, github: FakeGitHub
) -> None:
    calls = 0

    async def flaky(request: httpx.Request, installation_id: str) -> httpx.Response:
        nonlocal calls
        calls += 1
        await anyio.sleep(0.02)
        if calls == 1:
            return httpx.Response(404, json={"message": "Not Found", "documentation_url": "https://docs"})
        return await github.async_side_effect(request, installation_id)

    outcomes: list[object] = []

    async def call() -> None:
        try:
            outcomes.append(await provider.get_token(42))
        except NotFoundError as exc:
            outcomes.append(exc)

    with respx.mock(assert_all_called=False) as router:
        route = router.post(url__regex=ROUTE).mock(side_effect=flaky)
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(call)
    errors = [o for o in outcomes if isinstance(o, NotFoundError)]
    tokens = {o.token for o in outcomes if isinstance(o, InstallationToken)}
    assert len(errors) == 1 and len(tokens) == 1
    assert route.call_count == 2  # the failure was not cached; the next waiter fetched once for the rest
    await provider.aclose()


@pytest.mark.anyio
async def test_permissions_and_repositories_are_separate_entries(
    provider: InstallationTokenProvider, mock: respx.Route, github: FakeGitHub
) -> None:
    plain = await provider.get_token(42)
    scoped = await provider.get_token(42, permissions={"issues": "read"})
    repos = await provider.get_token(42, repositories=["b", "a"])
    both = await provider.get_token(42, repositories=["a"], permissions={"issues": "read"})
    assert mock.call_count == 4
    assert len({plain.token, scoped.token, repos.token, both.token}) == 4
    assert github.bodies == [
        {},
        {"permissions": {"issues": "read"}},
        {"repositories": ["a", "b"]},
        {"repositories": ["a"], "permissions": {"issues": "read"}},
    ]
    # the same scope in another order is the same entry
    assert await provider.get_token(42, repositories=("a", "b")) is repos
    assert await provider.get_token(42, permissions={"issues": "read"}) is scoped
    assert mock.call_count == 4
    assert repos.repositories == ("a", "b") and scoped.permissions == {"issues": "read"}
    await provider.aclose()


@pytest.mark.anyio
async def test_base_url_and_app_id_are_part_of_the_key(pem: str, clock: Clock, github: FakeGitHub) -> None:
    ghe = "https://ghe.example/api/v3"
    with respx.mock(assert_all_called=False) as router:
        dotcom = router.post(url__regex=ROUTE).mock(side_effect=github.async_side_effect)
        enterprise = router.post(url__regex=ghe + r"/app/installations/(?P<installation_id>\d+)/access_tokens").mock(
            side_effect=github.async_side_effect
        )
        async with (
            InstallationTokenProvider(77, pem, clock=clock) as a,
            InstallationTokenProvider(77, pem, clock=clock, base_url=ghe + "/") as b,
        ):
            assert (await a.get_token(42)).token != (await b.get_token(42)).token
            assert a.auth_for(42).identity != b.auth_for(42).identity
    assert dotcom.call_count == 1 and enterprise.call_count == 1
    assert (
        InstallationTokenProvider(77, pem).auth_for(42).identity
        != InstallationTokenProvider(78, pem).auth_for(42).identity
    )


@pytest.mark.anyio
async def test_invalidate_forces_a_new_fetch(provider: InstallationTokenProvider, mock: respx.Route) -> None:
    first = await provider.get_token(42)
    assert provider.invalidate(42, token="ghs_some_other_token") is False  # not the cached one: kept
    assert await provider.get_token(42) is first
    assert provider.invalidate(42) is True
    assert provider.invalidate(42) is False
    second = await provider.get_token(42)
    assert second.token != first.token
    assert mock.call_count == 2
    await provider.aclose()


@pytest.mark.anyio
async def test_installation_auth_header_and_invalidate_after_401(
    provider: InstallationTokenProvider, mock: respx.Route
) -> None:
    auth = provider.auth_for(42, permissions={"issues": "write"})
    assert isinstance(auth, InstallationAuth) and auth.installation_id == 42
    header = await auth.async_authorization()
    assert header == "Bearer " + (await provider.get_token(42, permissions={"issues": "write"})).token
    assert mock.call_count == 1
    assert auth.invalidate(header) is True
    new_header = await auth.async_authorization()
    assert new_header != header and mock.call_count == 2
    # a late 401 for the old token does not throw away the new one
    assert auth.invalidate(header) is True
    assert await auth.async_authorization() == new_header
    assert mock.call_count == 2
    await provider.aclose()


def test_installation_auth_identity_and_repr(provider: InstallationTokenProvider) -> None:
    a = provider.auth_for(42)
    assert a.identity == identity_of(API, "77", 42, None, None)
    assert a.identity == provider.auth_for("42").identity
    assert a.identity != provider.auth_for(43).identity
    assert a.identity != provider.auth_for(42, permissions={"issues": "read"}).identity
    assert a.identity != provider.auth_for(42, repositories=["r"]).identity
    assert (
        provider.auth_for(42, repositories=["x", "y"]).identity
        == provider.auth_for(42, repositories=["y", "x"]).identity
    )
    text = repr(provider.auth_for(42, repositories=["r"], permissions={"issues": "read"}))
    assert "installation_id=42" in text and "'r'" in text and "issues" in text


@pytest.mark.anyio
async def test_no_secret_in_reprs(provider: InstallationTokenProvider, mock: respx.Route, pem: str) -> None:
    auth = provider.auth_for(42)
    token = await provider.get_token(42)
    header = await auth.async_authorization()
    texts = [repr(provider), str(provider), repr(auth), str(auth), repr(token), repr(provider.app_auth)]
    for text in texts:
        assert token.token not in text
        assert _key_body(pem) not in text
        assert provider.app_auth.jwt.token() not in text
    assert header.endswith(token.token)
    await provider.aclose()


@pytest.mark.anyio
async def test_errors_carry_no_jwt_or_key(provider: InstallationTokenProvider, pem: str) -> None:
    with respx.mock() as router:
        router.post(url__regex=ROUTE).respond(
            401, json={"message": "A JSON web token could not be decoded", "documentation_url": "https://docs"}
        )
        with pytest.raises(AsyncGitHubAPIError) as info:
            await provider.get_token(42)
    text = "".join(traceback.format_exception(info.value))
    assert info.value.status_code == 401
    assert provider.app_auth.jwt.token() not in text
    assert _key_body(pem) not in text
    assert provider.cached(42) is None
    await provider.aclose()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"installation_id": 0}, "installation_id"),
        ({"installation_id": True}, "installation_id"),
        ({"installation_id": "abc"}, "installation_id"),
        ({"installation_id": 1, "repositories": "repo"}, "repositories"),
        ({"installation_id": 1, "repositories": []}, "repositories"),
        ({"installation_id": 1, "repositories": [""]}, "repositories"),
        ({"installation_id": 1, "permissions": {}}, "permissions"),
        ({"installation_id": 1, "permissions": {"issues": 1}}, "permissions"),
    ],
)
def test_bad_arguments_named(provider: InstallationTokenProvider, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        provider.auth_for(**kwargs)


def test_bad_base_url(pem: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        InstallationTokenProvider(1, pem, base_url="api.github.com")


# -- blocking and multi-loop use ----------------------------------------------------------------


def test_sync_single_flight_across_threads(
    provider: InstallationTokenProvider, sync_mock: respx.Route, github: FakeGitHub
) -> None:
    github.delay = 0.05
    barrier = threading.Barrier(20)
    seen: list[str] = []

    def work() -> None:
        barrier.wait()
        seen.append(provider.get_token_sync(42).token)

    threads = [threading.Thread(target=work) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sync_mock.call_count == 1
    assert len(seen) == 20 and len(set(seen)) == 1
    auth = provider.auth_for(42)
    assert auth.authorization() == "Bearer " + seen[0]
    assert auth.invalidate(auth.authorization()) is True
    assert auth.authorization() != "Bearer " + seen[0]
    assert sync_mock.call_count == 2
    provider.close()


def test_usable_from_several_event_loops(
    provider: InstallationTokenProvider, mock: respx.Route, github: FakeGitHub
) -> None:
    # one loop after another: the cache is shared and no lock is bound to a dead loop
    tokens = [anyio.run(provider.get_token, 42) for _ in range(3)]
    assert len({t.token for t in tokens}) == 1 and mock.call_count == 1
    provider.invalidate(42)
    github.delay = 0.02
    errors: list[BaseException] = []
    seen: list[str] = []

    def in_thread() -> None:
        async def main() -> None:
            async with anyio.create_task_group() as tg:
                for _ in range(10):
                    tg.start_soon(lambda: _append(seen, provider.get_token(42)))
            await provider.aclose()

        try:
            anyio.run(main)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=in_thread) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(seen) == 40
    assert 2 <= mock.call_count <= 1 + 4  # at most one fetch per event loop


async def _append(seen: list[str], pending: Any) -> None:
    seen.append((await pending).token)


def test_trio_backend(provider: InstallationTokenProvider, mock: respx.Route) -> None:
    pytest.importorskip("trio")
    token = anyio.run(provider.get_token, 42, backend="trio")
    assert token is anyio.run(provider.get_token, 42)
    assert mock.call_count == 1


# -- sharing the caller's HTTP clients ------------------------------------------------------------


@pytest.mark.anyio
async def test_given_http_clients_are_used_and_left_open(pem: str, clock: Clock, github: FakeGitHub) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return github._answer(request, request.url.path.split("/")[3])

    transport = httpx.MockTransport(handler)
    with httpx.Client(transport=transport) as shared_sync:
        shared = httpx.AsyncClient(transport=transport)
        provider = InstallationTokenProvider(77, pem, clock=clock, http_client=shared, sync_http_client=shared_sync)
        await provider.get_token(5)
        provider.get_token_sync(6)
        await provider.aclose()
        assert not shared.is_closed and not shared_sync.is_closed
        await shared.aclose()
    assert seen == [API + "/app/installations/5/access_tokens", API + "/app/installations/6/access_tokens"]


@pytest.mark.anyio
async def test_installation_client_sends_the_token(
    provider: InstallationTokenProvider, router: respx.MockRouter, mock: respx.Route
) -> None:
    from githubapp import AsyncGitHubClient

    issue = router.get(API + "/repos/o/r/issues/1").respond(200, json={"id": 1})
    async with AsyncGitHubClient(auth=provider.auth_for(42)) as gh:
        await gh.request("GET", "/repos/o/r/issues/1")
    token = provider.cached(42)
    assert token is not None and mock.call_count == 1
    assert issue.calls.last.request.headers["Authorization"] == f"Bearer {token.token}"
    await provider.aclose()


@pytest.mark.anyio
async def test_401_drops_the_token_and_the_client_retries_once(
    provider: InstallationTokenProvider, router: respx.MockRouter, mock: respx.Route
) -> None:
    from githubapp import AsyncGitHubClient

    def answer(request: httpx.Request) -> httpx.Response:
        if "_n0001_" in request.headers["Authorization"]:  # the first token was revoked
            return httpx.Response(401, json={"message": "Bad credentials"})
        return httpx.Response(200, json={"id": 1})

    repo = router.get(API + "/repos/o/r").mock(side_effect=answer)
    async with AsyncGitHubClient(auth=provider.auth_for(42), enable_cache=False) as gh:
        response = await gh.request("GET", "/repos/o/r")
    assert response.status_code == 200
    assert repo.call_count == 2 and mock.call_count == 2
    cached = provider.cached(42)
    assert cached is not None and "_n0002_" in cached.token
    await provider.aclose()


_names = st.lists(st.text(alphabet="abcdefghij-_.", min_size=1, max_size=6), min_size=1, max_size=5)
_perms = st.dictionaries(
    st.sampled_from(["issues", "contents", "metadata", "pull_requests"]), st.sampled_from(["read", "write"]), min_size=1
)


@settings(max_examples=100, deadline=None)
@given(
    a_repos=st.none() | _names,
    b_repos=st.none() | _names,
    a_perms=st.none() | _perms,
    b_perms=st.none() | _perms,
    seed=st.randoms(),
)
def test_identity_is_the_scope_not_its_spelling(
    pem: str,
    a_repos: list[str] | None,
    b_repos: list[str] | None,
    a_perms: dict[str, str] | None,
    b_perms: dict[str, str] | None,
    seed: Any,
) -> None:
    provider = _shared_provider(pem)
    a = provider.auth_for(42, a_repos, a_perms)
    shuffled = None if a_repos is None else seed.sample(a_repos, len(a_repos))
    reordered = None if a_perms is None else dict(seed.sample(list(a_perms.items()), len(a_perms)))
    assert provider.auth_for(42, shuffled, reordered).identity == a.identity
    same_scope = (None if a_repos is None else set(a_repos)) == (
        None if b_repos is None else set(b_repos)
    ) and a_perms == b_perms
    assert (provider.auth_for(42, b_repos, b_perms).identity == a.identity) is same_scope


_PROVIDERS: dict[str, InstallationTokenProvider] = {}


def _shared_provider(pem: str) -> InstallationTokenProvider:
    if pem not in _PROVIDERS:
        _PROVIDERS[pem] = InstallationTokenProvider(77, pem)
    return _PROVIDERS[pem]
