"""``githubapp.core``: the fastapi-githubapp 0.2.7 names, exceptions and rate-limit helpers."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import threading
import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

import githubapp.core as core
from githubapp import errors
from githubapp._operation import SyncNamespace
from githubapp.auth.app import InstallationToken
from githubapp.core import (
    STATUS_FUNC_CALLED,
    STATUS_NO_FUNC_CALLED,
    GitHubAppBadCredentials,
    GitHubAppError,
    GithubAppUnkownObject,
    GitHubAppValidationError,
    GitHubRateLimitError,
    GithubUnauthorized,
    InstallationAuthorization,
    RateLimitedGhApi,
    RateLimitRetry,
    compat_error,
    rate_limit_handling_active,
    retry_with_rate_limit,
    with_rate_limit_handling,
)

NAMES_027 = [
    "GitHubApp",
    "STATUS_FUNC_CALLED",
    "STATUS_NO_FUNC_CALLED",
    "GitHubAppError",
    "GitHubAppValidationError",
    "GitHubAppBadCredentials",
    "GithubUnauthorized",
    "GithubAppUnkownObject",
    "GitHubRateLimitError",
    "InstallationAuthorization",
    "RateLimitedGhApi",
    "with_rate_limit_handling",
]

# -- names ----------------------------------------------------------------------------------------


def test_status_values() -> None:
    assert (STATUS_FUNC_CALLED, STATUS_NO_FUNC_CALLED) == ("HIT", "MISS")


def test_every_027_name_is_exported() -> None:
    assert set(NAMES_027) | {"retry_with_rate_limit"} <= set(core.__all__)
    for name in NAMES_027:
        if name != "GitHubApp":
            assert getattr(core, name) is not None


def test_importing_core_does_not_import_the_app_framework() -> None:
    code = "import sys, githubapp.core; assert 'githubapp.app' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_github_app_imported_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("githubapp.app")

    class FakeGitHubApp:
        pass

    fake.GitHubApp = FakeGitHubApp  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "githubapp.app", fake)
    monkeypatch.delitem(core.__dict__, "GitHubApp", raising=False)
    from githubapp.core import GitHubApp

    assert GitHubApp is cast(Any, FakeGitHubApp)
    core.__dict__.pop("GitHubApp")  # not through monkeypatch: undo must not restore the fake


def test_github_app_missing_gives_a_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "githubapp.app", cast(Any, None))
    monkeypatch.delitem(core.__dict__, "GitHubApp", raising=False)
    with pytest.raises(ImportError, match="GitHubApp"):
        from githubapp.core import GitHubApp  # noqa: F401
    with pytest.raises(AttributeError):
        core.NoSuchName  # noqa: B018


def test_github_app_is_the_framework_class() -> None:
    try:
        app_module = importlib.import_module("githubapp.app")
    except ImportError as exc:  # pragma: no cover - the framework is built alongside
        pytest.skip(f"githubapp.app not importable yet: {exc}")
    if not hasattr(app_module, "GitHubApp"):  # pragma: no cover
        pytest.skip("githubapp.app has no GitHubApp yet")
    assert core.GitHubApp is app_module.GitHubApp


# -- exceptions -----------------------------------------------------------------------------------

DEFAULTS = {
    GitHubAppError: "GitHub App error",
    GitHubAppValidationError: "GitHub App validation error",
    GitHubAppBadCredentials: "GitHub App bad credentials",
    GithubUnauthorized: "GitHub unauthorized",
    GithubAppUnkownObject: "GitHub object not found",
    GitHubRateLimitError: "GitHub rate limit exceeded",
}


@pytest.mark.parametrize(("cls", "default"), list(DEFAULTS.items()))
def test_exceptions_keep_027_signature(cls: type[GitHubAppError], default: str) -> None:
    exc = cls()
    assert (exc.message, exc.status, exc.data) == (default, None, None)
    assert str(exc) == default
    exc = cls("boom", 418, {"x": 1})
    assert (exc.message, exc.status, exc.data) == ("boom", 418, {"x": 1})
    assert str(exc) == "boom"
    exc = cls(message="kw", status=400, data="text")
    assert (exc.message, exc.status, exc.data) == ("kw", 400, "text")
    assert isinstance(exc, GitHubAppError) and isinstance(exc, errors.GitHubError)
    with pytest.raises(cls):
        raise cls()


@pytest.mark.parametrize(
    ("cls", "new_base"),
    [
        (GithubUnauthorized, errors.UnauthorizedError),
        (GitHubAppBadCredentials, errors.ForbiddenError),
        (GithubAppUnkownObject, errors.NotFoundError),
        (GitHubAppValidationError, errors.ValidationFailedError),
        (GitHubRateLimitError, errors.AsyncGitHubRateLimitError),
    ],
)
def test_exceptions_fit_the_new_hierarchy(cls: type[GitHubAppError], new_base: type[Exception]) -> None:
    exc = cls("m", 400)
    assert isinstance(exc, new_base) and isinstance(exc, errors.AsyncGitHubAPIError)
    assert exc.status_code == 400


def test_rate_limit_error_both_apis() -> None:
    exc = GitHubRateLimitError(
        status=403, rate_limit_info={"reset": "1800000000", "retry_after": "7", "remaining": "0"}
    )
    assert exc.rate_limit_info["remaining"] == "0"
    assert exc.reset_time == datetime.fromtimestamp(1800000000, UTC)
    assert exc.retry_after == 7.0
    assert GitHubRateLimitError().rate_limit_info == {}
    for catch in (GitHubRateLimitError, errors.AsyncGitHubRateLimitError, errors.GitHubRateLimitError, GitHubAppError):
        with pytest.raises(catch):
            raise GitHubRateLimitError("x")


def _error(status: int, headers: dict[str, str] | None = None, message: str = "nope") -> errors.AsyncGitHubAPIError:
    body = f'{{"message": "{message}", "documentation_url": "https://docs.github.com/x"}}'.encode()
    return errors.error_for_response(
        "POST",
        "https://api.github.com/app/installations/1/access_tokens",
        status,
        headers or {"x-github-request-id": "AB:CD"},
        body,
    )


@pytest.mark.parametrize(
    ("status", "headers", "cls"),
    [
        (401, None, GithubUnauthorized),
        (403, None, GitHubAppBadCredentials),
        (404, None, GithubAppUnkownObject),
        (422, None, GitHubAppValidationError),
        (500, None, core.GitHubAppAPIError),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1800000000"}, GitHubRateLimitError),
        (429, {"retry-after": "30"}, GitHubRateLimitError),
    ],
)
def test_compat_error_mapping(status: int, headers: dict[str, str] | None, cls: type[GitHubAppError]) -> None:
    original = _error(status, headers)
    exc = compat_error(original)
    assert type(exc) is cls
    assert exc.status == status and exc.status_code == status  # type: ignore[attr-defined]
    assert exc.message == "nope"
    assert exc.url == original.url and exc.documentation_url == "https://docs.github.com/x"  # type: ignore[attr-defined]
    assert "access_tokens" in str(exc)
    assert compat_error(original, "Failed to list installations").message == "Failed to list installations"
    if cls is GitHubRateLimitError:
        assert isinstance(exc, GitHubRateLimitError)
        assert exc.rate_limit_info["reset"] == (headers or {}).get("x-ratelimit-reset")
        assert (exc.reset_time, exc.retry_after) == (original.reset_time, original.retry_after)  # type: ignore[attr-defined]


# -- InstallationAuthorization ------------------------------------------------------------------


def test_installation_authorization_027_shape() -> None:
    auth = InstallationAuthorization("ghs_secret_token_value_123", "2030-01-01T00:00:00Z")
    assert auth.token == "ghs_secret_token_value_123"
    assert auth.expires_at == "2030-01-01T00:00:00Z"  # kept as given
    assert auth.expires_at_datetime == datetime(2030, 1, 1, tzinfo=UTC)
    assert InstallationAuthorization("t").expires_at is None
    assert "ghs_secret_token_value_123" not in repr(auth)


def test_no_expiry_never_expires() -> None:
    assert InstallationAuthorization("t").expired() is False
    assert InstallationAuthorization("t", None).expired(now=datetime.max.replace(tzinfo=UTC)) is False


@given(offset=st.integers(min_value=-(10**8), max_value=10**8))
def test_expired_for_every_form(offset: int) -> None:
    now = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    when = now + timedelta(seconds=offset)
    forms: list[Any] = [when, when.strftime("%Y-%m-%dT%H:%M:%SZ"), when.isoformat(), when.timestamp()]
    for form in forms:
        auth = InstallationAuthorization("t", form)
        assert auth.expired(now) is (offset < 0)
        assert auth.expired(now.timestamp()) is (offset < 0)


def test_expired_strings_use_the_clock() -> None:
    # 0.2.7 never expired a string expiry; now an old one is expired and a future one is not
    assert InstallationAuthorization("t", "2000-01-01T00:00:00Z").expired() is True
    assert InstallationAuthorization("t", "2999-01-01T00:00:00Z").expired() is False
    assert InstallationAuthorization("t", 1.0).expired() is True
    with pytest.raises(ValueError, match="yesterday"):
        InstallationAuthorization("t", "yesterday").expired()


def test_from_installation_token() -> None:
    token = InstallationToken("ghs_" + "z" * 36, "2030-01-01T00:00:00Z")
    auth = InstallationAuthorization.from_token(token)
    assert auth.token == token.token and auth.expires_at == "2030-01-01T00:00:00Z"


# -- retry_with_rate_limit ----------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def _limited(retry_after: float | None = None, reset: datetime | None = None) -> errors.AsyncGitHubRateLimitError:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-limit": "5000", "x-ratelimit-resource": "core"}
    if reset is not None:
        headers["x-ratelimit-reset"] = str(int(reset.timestamp()))
    return errors.AsyncGitHubRateLimitError(
        "API rate limit exceeded",
        403,
        None,
        reset_time=reset,
        retry_after=retry_after,
        headers=headers,
        method="GET",
        url="https://api.github.com/repos/o/r",
    )


def _failing(failures: int, exc: BaseException, result: Any = "ok") -> tuple[Any, list[int]]:
    calls: list[int] = []

    def func(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= failures:
            raise exc
        return (result, args, kwargs)

    return func, calls


def test_retries_then_succeeds_with_arguments() -> None:
    rec = Recorder()
    func, calls = _failing(2, _limited(retry_after=3))
    policy = RateLimitRetry(retries=2, max_sleep=60, sleep=rec.sleep)
    assert policy(func, 1, x=2) == ("ok", (1,), {"x": 2})
    assert len(calls) == 3 and rec.sleeps == [3, 3]


def test_gives_up_with_027_error() -> None:
    rec = Recorder()
    original = _limited(retry_after=1)
    func, calls = _failing(10, original)
    func.__name__ = "create_comment"
    with pytest.raises(GitHubRateLimitError) as info:
        RateLimitRetry(retries=2, sleep=rec.sleep)(func)
    exc = info.value
    assert len(calls) == 3 and rec.sleeps == [1, 1]
    assert exc.message == "Rate limit exceeded in client call: create_comment"
    assert exc.status == 403 and exc.__cause__ is original
    assert exc.rate_limit_info["remaining"] == "0" and exc.rate_limit_info["resource"] == "core"
    assert isinstance(exc, errors.AsyncGitHubRateLimitError) and exc.url == original.url


def test_wait_longer_than_max_sleep_gives_up_at_once() -> None:
    rec = Recorder()
    func, calls = _failing(1, _limited(retry_after=120))
    with pytest.raises(GitHubRateLimitError):
        RateLimitRetry(retries=5, max_sleep=60, sleep=rec.sleep)(func)
    assert len(calls) == 1 and rec.sleeps == []


def test_waits_until_reset_when_no_retry_after() -> None:
    rec = Recorder()
    now = 1_800_000_000.0
    func, _ = _failing(1, _limited(reset=datetime.fromtimestamp(now + 25, UTC)))
    assert RateLimitRetry(sleep=rec.sleep, clock=lambda: now)(func)[0] == "ok"
    assert rec.sleeps == [25]


def test_exponential_backoff_without_hints() -> None:
    rec = Recorder()
    func, _ = _failing(3, _limited())
    RateLimitRetry(retries=3, max_sleep=100, sleep=rec.sleep)(func)
    assert rec.sleeps == [60, 100, 100]  # 60 s x 2^attempt, capped at max_sleep


@pytest.mark.parametrize(
    "exc",
    [
        errors.NotFoundError("Not Found", 404),
        errors.ForbiddenError("Resource not accessible by integration", 403),
        ValueError("unrelated"),
        GitHubRateLimitError("an inner retry gave up already", 403),
    ],
)
def test_other_errors_pass_through_untouched(exc: Exception) -> None:
    rec = Recorder()
    func, calls = _failing(5, exc)
    with pytest.raises(type(exc)) as info:
        RateLimitRetry(sleep=rec.sleep)(func)
    assert info.value is exc and len(calls) == 1 and rec.sleeps == []


@settings(max_examples=150, deadline=None)
@given(
    failures=st.integers(min_value=0, max_value=6),
    retries=st.integers(min_value=0, max_value=4),
    wait=st.integers(min_value=0, max_value=90),
    max_sleep=st.integers(min_value=0, max_value=90),
)
def test_retry_decisions(failures: int, retries: int, wait: int, max_sleep: int) -> None:
    rec = Recorder()
    func, calls = _failing(failures, _limited(retry_after=wait))
    policy = RateLimitRetry(retries=retries, max_sleep=max_sleep, sleep=rec.sleep)
    allowed = retries if wait <= max_sleep else 0
    if failures <= allowed:
        assert policy(func)[0] == "ok"
        assert len(calls) == failures + 1 and rec.sleeps == [wait] * failures
    else:
        with pytest.raises(GitHubRateLimitError):
            policy(func)
        assert len(calls) == allowed + 1 and rec.sleeps == [wait] * allowed


class GhApiHTTPError(Exception):
    """Shaped like ghapi's / urllib's HTTPError: ``.code`` and ``.headers``."""

    def __init__(self, code: int, headers: dict[str, str]) -> None:
        super().__init__(f"HTTP Error {code}")
        self.code = code
        self.headers = headers


def _httpx_error(status: int, headers: dict[str, str]) -> httpx.HTTPStatusError:
    request = httpx.Request("GET", "https://api.github.com/x")
    return httpx.HTTPStatusError(
        "err", request=request, response=httpx.Response(status, headers=headers, request=request)
    )


@pytest.mark.parametrize(
    ("exc", "retried", "wait"),
    [
        (GhApiHTTPError(403, {"X-RateLimit-Remaining": "0", "Retry-After": "2"}), True, 2),
        (GhApiHTTPError(429, {}), True, 60),
        (GhApiHTTPError(403, {"x-ratelimit-remaining": "12"}), False, None),
        (GhApiHTTPError(404, {}), False, None),
        (_httpx_error(429, {"retry-after": "4"}), True, 4),
        (_httpx_error(403, {"x-ratelimit-remaining": "0", "retry-after": "5"}), True, 5),
        (_httpx_error(403, {}), False, None),
    ],
)
def test_other_libraries_errors_as_in_027(exc: Exception, retried: bool, wait: float | None) -> None:
    rec = Recorder()
    func, calls = _failing(1, exc)
    if retried:
        assert RateLimitRetry(sleep=rec.sleep)(func)[0] == "ok"
        assert rec.sleeps == [wait]
    else:
        with pytest.raises(type(exc)):
            RateLimitRetry(sleep=rec.sleep)(func)
        assert len(calls) == 1


def test_bad_policy_values_named() -> None:
    with pytest.raises(ValueError, match="retries"):
        RateLimitRetry(retries=-1)
    with pytest.raises(ValueError, match="max_sleep"):
        RateLimitRetry(max_sleep=float("inf"))


@pytest.mark.anyio
async def test_async_functions_retried_without_blocking() -> None:
    rec = Recorder()
    calls: list[int] = []

    async def fetch(n: int) -> int:
        calls.append(n)
        if len(calls) < 3:
            raise _limited(retry_after=2)
        return n * 10

    policy = RateLimitRetry(sleep=lambda s: pytest.fail("blocking sleep in async code"), async_sleep=rec.async_sleep)
    pending = policy(fetch, 4)
    assert inspect.iscoroutine(pending)
    assert await pending == 40
    assert calls == [4, 4, 4] and rec.sleeps == [2, 2]
    calls.clear()
    # a sync callable returning an awaitable (a lambda around an async call) is retried too
    assert await policy(lambda: fetch(5)) == 50
    assert calls == [5, 5, 5]


@pytest.mark.anyio
async def test_async_gives_up() -> None:
    rec = Recorder()

    async def always() -> None:
        raise _limited(retry_after=1)

    with pytest.raises(GitHubRateLimitError, match="always"):
        await RateLimitRetry(retries=1, async_sleep=rec.async_sleep)(always)
    assert rec.sleeps == [1]


def test_module_helper_defaults_and_passthrough(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder()
    monkeypatch.setattr("time.sleep", rec.sleep)
    func, calls = _failing(2, _limited(retry_after=5))
    assert retry_with_rate_limit(func, "a", k=1) == ("ok", ("a",), {"k": 1})
    assert rec.sleeps == [5, 5]  # two retries by default
    func, calls = _failing(3, _limited(retry_after=5))
    with pytest.raises(GitHubRateLimitError):
        retry_with_rate_limit(func)
    assert len(calls) == 3


@pytest.mark.anyio
async def test_module_helper_async(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder()
    monkeypatch.setattr("anyio.sleep", rec.async_sleep)
    calls: list[int] = []

    async def fetch() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise _limited(retry_after=3)
        return "done"

    assert await retry_with_rate_limit(fetch) == "done"
    assert rec.sleeps == [3]


# -- RateLimitedGhApi -----------------------------------------------------------------------------


class FakeIssues(SyncNamespace):
    calls: list[tuple[Any, ...]]

    def create_comment(self, owner: str, repo: str, issue_number: int, *, body: str) -> dict[str, Any]:
        self._client.calls.append((owner, repo, issue_number, body))  # type: ignore[attr-defined]
        if len(self._client.calls) == 1:  # type: ignore[attr-defined]
            raise _limited(retry_after=0)
        return {"id": 1, "body": body}


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.issues = FakeIssues(self)  # type: ignore[arg-type]
        self.base_url = "https://api.github.com"

    def rate_limit(self) -> str:
        raise _limited(retry_after=0)


def test_rate_limited_ghapi_wraps_namespaces() -> None:
    client = FakeClient()
    api = RateLimitedGhApi(client, None)
    assert api.issues.create_comment(owner="o", repo="r", issue_number=3, body="hi") == {"id": 1, "body": "hi"}
    assert client.calls == [("o", "r", 3, "hi")] * 2
    assert api.base_url == "https://api.github.com"  # plain attributes as they are
    assert "create_comment" in dir(api.issues)
    with pytest.raises(GitHubRateLimitError, match="rate_limit"):
        RateLimitedGhApi(client, rate_limit_retries=0).rate_limit()


def test_rate_limited_ghapi_uses_the_app() -> None:
    seen: list[str] = []

    class App027:
        _rate_limit_retries = 4
        _rate_limit_max_sleep = 10

        def retry_with_rate_limit(self, func: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(func.__name__)
            return func(*args, **kwargs)

    api = RateLimitedGhApi(FakeClient(), App027())
    with pytest.raises(errors.AsyncGitHubRateLimitError):
        api.issues.create_comment("o", "r", 1, body="x")  # the app's retry (here: none) decides
    assert seen == ["create_comment"]
    assert "retries=4" in repr(api) and "max_sleep=10" in repr(api)
    assert RateLimitedGhApi(api)._ghapi is api._ghapi  # never wrapped twice


def test_rate_limited_ghapi_with_our_sync_client() -> None:
    from githubapp import GitHubClient

    url = "https://api.github.com/repos/o/r/issues/3/comments"
    responses = iter(
        [
            httpx.Response(
                429, headers={"retry-after": "0"}, json={"message": "You have exceeded a secondary rate limit"}
            ),
            httpx.Response(201, json={"id": 99, "body": "hi", "user": {"login": "bot"}}),
        ]
    )
    with (
        respx.mock() as router,
        GitHubClient(token="ghs_test_token_1234567890", retry_attempts=0, write_spacing=0.0) as gh,
    ):
        route = router.post(url).mock(side_effect=lambda request: next(responses))
        api = RateLimitedGhApi(gh, rate_limit_retries=2, rate_limit_max_sleep=5)
        comment = api.issues.create_comment(owner="o", repo="r", issue_number=3, body="hi")
        assert route.call_count == 2
        assert comment.id == 99 and comment["body"] == "hi"
        router.get("https://api.github.com/repos/o/r/issues/4").respond(404, json={"message": "Not Found"})
        with pytest.raises(errors.NotFoundError):
            api.issues.get("o", "r", 4)


# -- with_rate_limit_handling ---------------------------------------------------------------------


class OldStyleApp:
    """A 0.2.7-shaped app: ``client()`` / ``get_client()`` return a fresh API object."""

    def __init__(self, retries: int = 2, max_sleep: int = 60) -> None:
        self._rate_limit_retries = retries
        self._rate_limit_max_sleep = max_sleep
        self.made: list[FakeClient] = []

    def client(self, installation_id: int | None = None) -> Any:
        self.made.append(FakeClient())
        return self.made[-1]

    def get_client(self, installation_id: int | None = None) -> Any:
        return self.client(installation_id)


def test_decorator_rate_limits_clients_inside_the_handler_only() -> None:
    app = OldStyleApp()

    @with_rate_limit_handling(app)
    def handler(x: int) -> str:
        """doc"""
        a, b = app.client(), app.get_client()
        assert isinstance(a, RateLimitedGhApi) and isinstance(b, RateLimitedGhApi)
        assert rate_limit_handling_active() == RateLimitRetry(retries=2, max_sleep=60)
        a.issues.create_comment("o", "r", 1, body="retried")
        return f"done {x}"

    assert handler.__name__ == "handler" and handler.__doc__ == "doc"
    assert handler(7) == "done 7"
    assert app.made[0].calls == [("o", "r", 1, "retried")] * 2
    assert not isinstance(app.client(), RateLimitedGhApi)
    assert not isinstance(app.get_client(), RateLimitedGhApi)
    assert rate_limit_handling_active() is None


def test_decorator_is_isolated_between_threads() -> None:
    app = OldStyleApp()
    inside = threading.Event()
    release = threading.Event()
    outside_result: list[Any] = []

    @with_rate_limit_handling(app)
    def handler() -> Any:
        inside.set()
        release.wait(5)
        return app.client()

    def plain() -> None:
        inside.wait(5)
        outside_result.append(app.client())  # another handler's decoration does not leak here
        release.set()

    results: list[Any] = []
    t1 = threading.Thread(target=lambda: results.append(handler()))
    t2 = threading.Thread(target=plain)
    t1.start()
    t2.start()
    t1.join()
    t2.join()
    assert isinstance(results[0], RateLimitedGhApi)
    assert not isinstance(outside_result[0], RateLimitedGhApi)


@pytest.mark.anyio
async def test_decorator_on_async_handlers() -> None:
    app = OldStyleApp(retries=0)

    @with_rate_limit_handling(app)
    async def handler() -> Any:
        assert rate_limit_handling_active() == RateLimitRetry(retries=0, max_sleep=60)
        with pytest.raises(GitHubRateLimitError):  # the app allows no retry
            retry_with_rate_limit(_failing(1, _limited(retry_after=0))[0])
        return app.client()

    assert inspect.iscoroutinefunction(handler)
    assert isinstance(await handler(), RateLimitedGhApi)
    assert rate_limit_handling_active() is None


def test_decorator_leaves_context_aware_apps_alone() -> None:
    class AwareApp(OldStyleApp):
        rate_limit_context_aware = True

    app = AwareApp(retries=3, max_sleep=9)
    original = app.client

    @with_rate_limit_handling(app)
    def handler() -> RateLimitRetry | None:
        return rate_limit_handling_active()

    assert handler() == RateLimitRetry(retries=3, max_sleep=9)
    assert app.client == original and "client" not in vars(app)


def test_decorator_rewraps_a_replaced_client(monkeypatch: pytest.MonkeyPatch) -> None:
    app = OldStyleApp()

    def use_client() -> Any:
        return app.client()

    def replaced(installation_id: int | None = None) -> FakeClient:
        return replacement

    handler = with_rate_limit_handling(app)(use_client)
    assert isinstance(handler(), RateLimitedGhApi)
    replacement = FakeClient()
    monkeypatch.setattr(app, "client", replaced)
    wrapped = handler()
    assert isinstance(wrapped, RateLimitedGhApi) and wrapped._ghapi is replacement


@pytest.fixture(autouse=True)
def _no_leftover_policy() -> Iterator[None]:
    yield
    assert rate_limit_handling_active() is None
