"""Properties of the pipeline's decisions: plain functions and small state machines, no I/O."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from fractions import Fraction

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from githubapp._operation import PreparedRequest
from githubapp.config import ClientConfig, ConfigError
from githubapp.errors import CircuitOpenError, parse_retry_after
from githubapp.http.breaker import CircuitBreaker
from githubapp.http.cache import ResponseCache, cache_key, canonical_url, invalidation_paths
from githubapp.http.ratelimit import RateLimitState, resource_for, secondary_wait
from githubapp.http.retry import backoff_delay, is_write, may_retry, transport_outcome
from githubapp.http.throttle import WriteSpacer

METHODS = st.sampled_from(["GET", "HEAD", "OPTIONS", "POST", "PATCH", "PUT", "DELETE"])
unit = st.floats(min_value=0, max_value=1, exclude_max=True)


@given(attempt=st.integers(0, 3000), base=st.floats(0, 100), cap=st.floats(0, 1000), rand=unit)
def test_backoff_is_jittered_exponential_and_capped(attempt: int, base: float, cap: float, rand: float) -> None:
    delay = backoff_delay(attempt, base=base, cap=cap, rand=rand)
    raw = Fraction(base) * 2**attempt  # exact, never overflows
    slack = Fraction(1) + Fraction(1, 10**9)
    assert 0 <= delay <= cap
    assert Fraction(delay) <= raw * slack
    assert Fraction(delay) * slack >= min(Fraction(cap), raw / 2)


def test_backoff_rejects_negative_attempts() -> None:
    with pytest.raises(ValueError, match="-1"):
        backoff_delay(-1, base=1, cap=1, rand=0)


@given(method=METHODS, op=st.sampled_from([None, "issues/create", "graphql:query", "graphql:mutation"]))
def test_writes_are_the_state_changing_methods(method: str, op: str | None) -> None:
    prepared = PreparedRequest(method, "https://api.github.com/x", operation_id=op)
    expected = method in ("POST", "PATCH", "PUT", "DELETE") and op != "graphql:query"
    assert is_write(prepared) is expected


@given(write=st.booleans(), outcome=st.sampled_from(["not_sent", "unknown", "server_error"]))
def test_a_write_is_retried_only_when_it_provably_did_nothing(write: bool, outcome: str) -> None:
    allowed = may_retry(write=write, outcome=outcome)  # type: ignore[arg-type]
    if write:
        assert allowed is (outcome == "not_sent")
    else:
        assert allowed


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (httpx.ConnectError("refused"), "not_sent"),
        (httpx.ConnectTimeout("slow connect"), "not_sent"),
        (httpx.PoolTimeout("pool"), "not_sent"),
        (httpx.ReadTimeout("slow answer"), "unknown"),
        (httpx.RemoteProtocolError("dropped"), "unknown"),
        (httpx.WriteError("broken pipe"), "unknown"),
    ],
)
def test_transport_outcome(exc: httpx.HTTPError, outcome: str) -> None:
    assert transport_outcome(exc) == outcome


query_items = st.lists(st.tuples(st.sampled_from(["a", "b", "per_page", "page", "q"]), st.text("xyz01 &=", max_size=4)), max_size=5)


@given(items=query_items, data=st.data())
def test_cache_key_ignores_query_order_but_not_values(items: list[tuple[str, str]], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(items))
    url = "https://api.github.com/repos/o/r/issues"
    assert cache_key("GET", url, items, "application/json", "id1") == cache_key("GET", url, shuffled, "application/json", "id1")
    # the URL's own query and extra params are the same thing
    inline = url + ("?" + httpx.QueryParams(items).__str__() if items else "")
    assert canonical_url(inline) == canonical_url(url, items)


@given(a=st.text(min_size=1, max_size=30), b=st.text(min_size=1, max_size=30))
def test_cache_keys_of_two_identities_never_collide_and_hide_the_identity(a: str, b: str) -> None:
    url = "https://api.github.com/user"
    key_a = cache_key("GET", url, [], "application/vnd.github+json", a)
    key_b = cache_key("GET", url, [], "application/vnd.github+json", b)
    assert (key_a == key_b) is (a == b)
    if len(a) > 3:
        assert a not in key_a.split(" id=")[1]


def test_cache_key_depends_on_accept_and_method() -> None:
    url = "https://api.github.com/repos/o/r/readme"
    raw = cache_key("GET", url, [], "application/vnd.github.raw+json", "i")
    assert raw != cache_key("GET", url, [], "application/vnd.github+json", "i")
    assert raw != cache_key("HEAD", url, [], "application/vnd.github.raw+json", "i")


def test_invalidation_paths_are_the_resource_and_its_collection() -> None:
    assert invalidation_paths("https://api.github.com/repos/o/r/issues/7") == (
        "api.github.com/repos/o/r/issues/7",
        "api.github.com/repos/o/r/issues",
    )


@given(seconds=st.integers(0, 10**6))
def test_retry_after_seconds(seconds: int) -> None:
    assert parse_retry_after(str(seconds)) == float(seconds)


@given(delta=st.integers(-3600, 3600))
def test_retry_after_http_date_is_seconds_from_now_never_negative(delta: int) -> None:
    now = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=delta), usegmt=True)
    assert parse_retry_after(header, now=now) == max(0.0, float(delta))


@given(junk=st.text(alphabet="abc-+!;", max_size=8))
def test_retry_after_garbage_is_ignored(junk: str) -> None:
    assert parse_retry_after(junk) is None


@given(retry_after=st.one_of(st.none(), st.floats(0, 1000)), n=st.integers(0, 10), rand=unit)
def test_secondary_wait_honours_retry_after_else_doubles(retry_after: float | None, n: int, rand: float) -> None:
    wait = secondary_wait(retry_after, n, default=60.0, rand=rand)
    if retry_after is not None:
        assert wait == retry_after
    else:
        assert 60.0 * 2**n <= wait <= 60.0 * 2**n * 1.25


@given(outcomes=st.lists(st.booleans(), max_size=40), threshold=st.integers(1, 5))
def test_breaker_opens_after_threshold_consecutive_failures_and_fails_fast(outcomes: list[bool], threshold: int) -> None:
    breaker = CircuitBreaker(threshold=threshold, cooldown=10.0)
    now = 0.0
    streak = 0
    for ok in outcomes:
        if breaker.state == "open":
            with pytest.raises(CircuitOpenError):
                breaker.before(now)
            now += 10.0  # cool-down over: one probe goes through
            breaker.before(now)
            assert breaker.state == "half_open"
            with pytest.raises(CircuitOpenError):  # only one probe at a time
                breaker.before(now)
        else:
            breaker.before(now)
        was_probe = breaker.state == "half_open"
        breaker.record(ok=ok, now=now)
        streak = 0 if ok else streak + 1
        if ok:
            assert breaker.state == "closed"
        elif was_probe or streak >= threshold:
            assert breaker.state == "open"
        else:
            assert breaker.state == "closed"


@given(times=st.lists(st.floats(0, 100), min_size=1, max_size=20), spacing=st.floats(0.01, 5))
def test_write_slots_are_spaced(times: list[float], spacing: float) -> None:
    spacer = WriteSpacer(spacing)
    slots = []
    for now in sorted(times):
        wait = spacer.reserve("id", now)
        assert wait >= 0
        slots.append(now + wait)
    assert all(b - a >= spacing - 1e-9 for a, b in itertools.pairwise(slots))
    assert WriteSpacer(0).reserve("id", 5.0) == 0


@given(remaining=st.integers(0, 5), reset_in=st.floats(-5, 100))
def test_primary_limit_holds_until_reset_only_when_exhausted(remaining: int, reset_in: float) -> None:
    state = RateLimitState()
    now = 1_000_000.0
    reset = int(now + reset_in)
    state.observe("me", {"x-ratelimit-remaining": str(remaining), "x-ratelimit-reset": str(reset), "x-ratelimit-resource": "core"})
    wait, limit = state.wait_before("me", "core", now)
    if remaining == 0 and reset + 1 > now:
        assert limit is not None
        assert wait == pytest.approx(reset - now + 1)
    else:
        assert wait == 0
    assert state.wait_before("someone-else", "core", now) == (0.0, None)
    assert state.wait_before("me", "search", now) == (0.0, None)


def test_resource_for_urls() -> None:
    assert resource_for("https://api.github.com/graphql") == "graphql"
    assert resource_for("https://api.github.com/search/code?q=x") == "code_search"
    assert resource_for("https://api.github.com/search/issues") == "search"
    assert resource_for("https://api.github.com/repos/o/r") == "core"


sizes = st.lists(st.tuples(st.integers(0, 30), st.integers(0, 3000)), max_size=40)


@given(ops=sizes, max_bytes=st.integers(200, 10_000))
@settings(max_examples=60)
def test_cache_stays_within_its_byte_bound(ops: list[tuple[int, int]], max_bytes: int) -> None:
    cache = ResponseCache(ttl=300, fresh_for=0, max_bytes=max_bytes)
    request = httpx.Request("GET", "https://api.github.com/x")
    for n, size in ops:
        response = httpx.Response(200, headers={"etag": f'"{n}"'}, content=b"x" * size, request=request)
        stored = cache.store(f"GET https://api.github.com/r/{n} accept=a id=i", response, now=0.0)
        assert cache.stats.bytes <= max_bytes
        if stored:
            entry, _ = cache.lookup(f"GET https://api.github.com/r/{n} accept=a id=i", 1.0)
            assert entry is not None and entry.content == b"x" * size
    assert cache.stats.entries == len(cache._entries)


def test_cache_entries_expire_after_ttl_and_serve_fresh_within_the_window() -> None:
    cache = ResponseCache(ttl=10, fresh_for=2, max_bytes=10_000)
    request = httpx.Request("GET", "https://api.github.com/x")
    cache.store("GET https://api.github.com/x accept=a id=i", httpx.Response(200, headers={"etag": '"1"'}, content=b"{}", request=request), 0.0)
    assert cache.lookup("GET https://api.github.com/x accept=a id=i", 1.0)[1] is True
    entry, fresh = cache.lookup("GET https://api.github.com/x accept=a id=i", 5.0)
    assert entry is not None and not fresh
    assert entry.conditional_headers() == [("If-None-Match", '"1"')]
    assert cache.lookup("GET https://api.github.com/x accept=a id=i", 11.0) == (None, False)
    assert cache.stats.evictions == 1


def test_cache_does_not_store_what_it_cannot_revalidate() -> None:
    cache = ResponseCache(ttl=10, fresh_for=0, max_bytes=10_000)
    request = httpx.Request("GET", "https://api.github.com/x")
    assert not cache.store("k x", httpx.Response(200, content=b"{}", request=request), 0.0)
    assert not cache.store("k x", httpx.Response(201, headers={"etag": '"1"'}, content=b"{}", request=request), 0.0)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("retry_attempts", -1),
        ("retry_attempts", 21),
        ("retry_backoff", -0.5),
        ("max_rate_limit_wait", float("inf")),
        ("breaker_threshold", 0),
        ("max_concurrency", 0),
        ("write_spacing", -1),
        ("cache_ttl", float("nan")),
        ("enable_cache", "yes"),
        ("transport", "curl"),
    ],
)
def test_bad_pipeline_settings_fail_naming_key_and_value(key: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        ClientConfig(**{key: value})  # type: ignore[arg-type]
    assert key in str(info.value) and repr(value) in str(info.value)


def test_fresh_window_cannot_outlive_ttl() -> None:
    with pytest.raises(ConfigError, match="cache_fresh_for"):
        ClientConfig(cache_ttl=10, cache_fresh_for=20)


def test_pipeline_settings_from_the_environment_and_a_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = ClientConfig()
    assert (defaults.pool_size, defaults.timeout, defaults.cache_ttl) == (10, 30.0, 300.0)
    assert (defaults.retry_attempts, defaults.retry_backoff, defaults.enable_cache) == (3, 2.0, True)
    for name, raw in {"POOL_SIZE": "4", "TIMEOUT": "7.5", "CACHE_TTL": "60", "RETRY_ATTEMPTS": "1", "RETRY_BACKOFF": "0.1", "ENABLE_CACHE": "false"}.items():
        monkeypatch.setenv("GITHUBAPP_CLIENT_" + name, raw)
    env = ClientConfig.from_env()
    assert (env.pool_size, env.timeout, env.cache_ttl, env.retry_attempts, env.retry_backoff, env.enable_cache) == (4, 7.5, 60.0, 1, 0.1, False)
    with pytest.raises(ConfigError, match=r"GITHUBAPP_CLIENT_RETRY_ATTEMPTS.*'many'"):
        ClientConfig.from_mapping({"GITHUBAPP_CLIENT_RETRY_ATTEMPTS": "many"})
