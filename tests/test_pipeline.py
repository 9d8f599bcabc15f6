"""The pipeline's behaviour through both clients, with respx (the fault-injection tests against a
real server are in test_pipeline_faults.py)."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest
import respx

from githubapp import AsyncGitHubClient, GitHubClient
from githubapp.auth import Auth
from githubapp.errors import (
    AsyncGitHubRateLimitError,
    CircuitOpenError,
    NotFoundError,
    ServerError,
    TransportError,
)

BASE = "https://api.github.com"
TOKEN = "ghp_pipelineSecretToken0123456789"
FAST: dict[str, Any] = {"retry_backoff": 0.01, "write_spacing": 0.0}
ISSUE = {"id": 1, "number": 7, "title": "t", "state": "open"}


class RotatingAuth(Auth):
    """Hands out token-1, then token-2 after GitHub rejected token-1."""

    identity = "rotating"

    def __init__(self) -> None:
        self.generation = 1
        self.invalidated: list[str] = []

    def authorization(self) -> str:
        return f"Bearer token-{self.generation}"

    def invalidate(self, authorization: str) -> bool:
        self.invalidated.append(authorization)
        self.generation += 1
        return True


def issue_route(router: respx.MockRouter) -> respx.Route:
    return router.get(f"{BASE}/repos/o/r/issues/7")


@pytest.mark.anyio
async def test_rate_limit_exceeded_waits_for_reset_then_succeeds() -> None:
    reset = int(time.time()) + 1
    with respx.mock(assert_all_called=True) as router:
        issue_route(router).mock(
            side_effect=[
                httpx.Response(403, json={"message": "API rate limit exceeded"},
                               headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset), "x-ratelimit-resource": "core"}),
                httpx.Response(200, json=ISSUE, headers={"x-ratelimit-remaining": "4999", "x-ratelimit-reset": str(reset + 3600), "x-ratelimit-limit": "5000"}),
            ]
        )
        async with AsyncGitHubClient(token=TOKEN, **FAST) as gh:
            started = time.monotonic()
            issue = await gh.issues.get("o", "r", 7)
            elapsed = time.monotonic() - started
            assert issue.number == 7
            assert elapsed >= reset - time.time() + 0.9 - (time.monotonic() - started) or elapsed >= 0.9
            assert gh.stats.rate_limit_waits == 1 and gh.stats.requests == 2
            assert gh.rate_limit["core"].remaining == 4999
            assert gh.rate_limit.state["core"].limit == 5000


@pytest.mark.anyio
async def test_rate_limit_reset_beyond_the_maximum_wait_raises_at_once() -> None:
    reset = int(time.time()) + 3600
    with respx.mock() as router:
        route = issue_route(router).mock(
            return_value=httpx.Response(403, json={"message": "API rate limit exceeded"},
                                        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})
        )
        async with AsyncGitHubClient(token=TOKEN, max_rate_limit_wait=5, **FAST) as gh:
            with pytest.raises(AsyncGitHubRateLimitError) as info:
                await gh.issues.get("o", "r", 7)
            assert info.value.reset_time is not None and int(info.value.reset_time.timestamp()) == reset
            # the identity is now known to be exhausted: the next call is not even sent
            with pytest.raises(AsyncGitHubRateLimitError, match="not sent"):
                await gh.issues.get("o", "r", 7)
            assert route.call_count == 1


def test_network_timeout_is_retried_with_backoff_sync() -> None:
    with respx.mock() as router:
        route = issue_route(router).mock(side_effect=[httpx.ReadTimeout("slow"), httpx.ReadTimeout("slow"), httpx.Response(200, json=ISSUE)])
        with GitHubClient(token=TOKEN, **FAST) as gh:
            assert gh.issues.get("o", "r", 7).number == 7
            assert route.call_count == 3
            assert gh.stats.retries == 2 and gh.stats.waits == 2 and gh.stats.wait_seconds > 0


@pytest.mark.anyio
async def test_timeouts_exhaust_the_budget_then_raise() -> None:
    with respx.mock() as router:
        route = issue_route(router).mock(side_effect=httpx.ReadTimeout("slow"))
        async with AsyncGitHubClient(token=TOKEN, retry_attempts=2, **FAST) as gh:
            with pytest.raises(TransportError, match=r"ReadTimeout.*after 3 attempts"):
                await gh.issues.get("o", "r", 7)
        assert route.call_count == 3


@pytest.mark.anyio
async def test_a_post_is_never_repeated_after_a_timeout_or_5xx() -> None:
    with respx.mock() as router:
        route = router.post(f"{BASE}/repos/o/r/issues").mock(side_effect=[httpx.ReadTimeout("slow"), httpx.Response(502)])
        async with AsyncGitHubClient(token=TOKEN, **FAST) as gh:
            with pytest.raises(TransportError):
                await gh.issues.create("o", "r", title="once")
            with pytest.raises(ServerError):
                await gh.issues.create("o", "r", title="once")
        assert route.call_count == 2


@pytest.mark.anyio
async def test_a_post_is_retried_after_a_connect_error() -> None:
    with respx.mock() as router:
        route = router.post(f"{BASE}/repos/o/r/issues").mock(side_effect=[httpx.ConnectError("refused"), httpx.Response(201, json=ISSUE)])
        async with AsyncGitHubClient(token=TOKEN, **FAST) as gh:
            assert (await gh.issues.create("o", "r", title="t")).number == 7
        assert route.call_count == 2


@pytest.mark.anyio
async def test_api_error_is_detailed() -> None:
    with respx.mock() as router:
        issue_route(router).mock(
            return_value=httpx.Response(404, json={"message": "Not Found", "documentation_url": "https://docs.github.com/rest"},
                                        headers={"x-github-request-id": "ABCD:1234"})
        )
        async with AsyncGitHubClient(token=TOKEN, **FAST) as gh:
            with pytest.raises(NotFoundError) as info:
                await gh.issues.get("o", "r", 7)
    error = info.value
    assert (error.status_code, error.message, error.documentation_url, error.request_id) == (404, "Not Found", "https://docs.github.com/rest", "ABCD:1234")
    assert error.method == "GET" and error.url == f"{BASE}/repos/o/r/issues/7"
    assert TOKEN not in str(error)


@pytest.mark.anyio
async def test_expired_token_is_refreshed_once() -> None:
    auth = RotatingAuth()
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        if request.headers["Authorization"] == "Bearer token-1":
            return httpx.Response(401, json={"message": "Bad credentials"})
        return httpx.Response(200, json=ISSUE)

    with respx.mock() as router:
        issue_route(router).mock(side_effect=answer)
        async with AsyncGitHubClient(auth=auth, **FAST) as gh:
            assert (await gh.issues.get("o", "r", 7)).number == 7
            assert gh.stats.auth_refreshes == 1
    assert seen == ["Bearer token-1", "Bearer token-2"]
    assert auth.invalidated == ["Bearer token-1"]


def test_a_static_token_rejected_with_401_is_not_retried() -> None:
    from githubapp.errors import UnauthorizedError

    with respx.mock() as router:
        route = issue_route(router).mock(return_value=httpx.Response(401, json={"message": "Bad credentials"}))
        with GitHubClient(token=TOKEN, **FAST) as gh, pytest.raises(UnauthorizedError):
            gh.issues.get("o", "r", 7)
        assert route.call_count == 1


@pytest.mark.anyio
async def test_repeated_connection_failures_open_the_breaker_which_then_recovers() -> None:
    with respx.mock() as router:
        route = issue_route(router).mock(side_effect=httpx.ConnectError("refused"))
        async with AsyncGitHubClient(token=TOKEN, retry_attempts=0, breaker_threshold=3, breaker_cooldown=0.2, **FAST) as gh:
            for _ in range(3):
                with pytest.raises(TransportError):
                    await gh.issues.get("o", "r", 7)
            with pytest.raises(CircuitOpenError, match=r"api\.github\.com"):
                await gh.issues.get("o", "r", 7)
            assert route.call_count == 3  # failed fast, nothing sent
            assert gh.stats.breakers["https://api.github.com"].state == "open"
            time.sleep(0.25)
            route.side_effect = None
            route.return_value = httpx.Response(200, json=ISSUE)
            assert (await gh.issues.get("o", "r", 7)).number == 7
            stats = gh.stats
            assert stats.breakers["https://api.github.com"].state == "closed" and stats.breaker_trips == 1


@pytest.mark.anyio
async def test_4xx_never_opens_the_breaker() -> None:
    with respx.mock() as router:
        issue_route(router).mock(return_value=httpx.Response(404, json={"message": "Not Found"}))
        async with AsyncGitHubClient(token=TOKEN, breaker_threshold=2, **FAST) as gh:
            for _ in range(5):
                with pytest.raises(NotFoundError):
                    await gh.issues.get("o", "r", 7)
            assert gh.stats.breakers["https://api.github.com"].state == "closed"


@pytest.mark.anyio
async def test_etag_revalidation_serves_the_cached_body_and_writes_invalidate() -> None:
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == '"v1"':
            return httpx.Response(304, headers={"etag": '"v1"'})
        return httpx.Response(200, json=ISSUE, headers={"etag": '"v1"'})

    with respx.mock() as router:
        issue_route(router).mock(side_effect=answer)
        router.patch(f"{BASE}/repos/o/r/issues/7").mock(return_value=httpx.Response(200, json=ISSUE))
        async with AsyncGitHubClient(token=TOKEN, **FAST) as gh:
            first = await gh.issues.get("o", "r", 7)
            second = await gh.issues.get("o", "r", 7)
            assert second == first
            await gh.issues.update("o", "r", 7, title="new")
            await gh.issues.get("o", "r", 7)
            cache = gh.stats.cache
    assert seen == [None, '"v1"', None]
    assert (cache.revalidations, cache.hits, cache.stores, cache.invalidations) == (1, 1, 2, 1)


@pytest.mark.anyio
async def test_two_identities_never_share_a_cache_entry() -> None:
    from githubapp.config import ClientConfig
    from githubapp.http.state import PipelineState

    tokens: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        tokens.append(request.headers.get("If-None-Match"))
        who = request.headers["Authorization"][-1]
        return httpx.Response(200, json={**ISSUE, "title": who}, headers={"etag": f'"{who}"'})

    state = PipelineState(ClientConfig(**FAST))
    with respx.mock() as router:
        issue_route(router).mock(side_effect=answer)
        async with AsyncGitHubClient(token="token-a", state=state, **FAST) as a, AsyncGitHubClient(token="token-b", state=state, **FAST) as b:
            assert (await a.issues.get("o", "r", 7)).title == "a"
            assert (await b.issues.get("o", "r", 7)).title == "b"
            assert (await a.issues.get("o", "r", 7)).title == "a"
    assert tokens == [None, None, '"a"']


@pytest.mark.anyio
async def test_cache_can_be_disabled() -> None:
    with respx.mock() as router:
        route = issue_route(router).mock(return_value=httpx.Response(200, json=ISSUE, headers={"etag": '"v1"'}))
        async with AsyncGitHubClient(token=TOKEN, enable_cache=False, **FAST) as gh:
            await gh.issues.get("o", "r", 7)
            await gh.issues.get("o", "r", 7)
        assert [c.request.headers.get("If-None-Match") for c in route.calls] == [None, None]


def test_secondary_limit_pauses_the_identity_then_retries_sync() -> None:
    with respx.mock() as router:
        route = issue_route(router).mock(
            side_effect=[httpx.Response(429, json={"message": "slow down"}, headers={"retry-after": "1"}), httpx.Response(200, json=ISSUE)]
        )
        with GitHubClient(token=TOKEN, **FAST) as gh:
            started = time.monotonic()
            assert gh.issues.get("o", "r", 7).number == 7
            assert time.monotonic() - started >= 0.95
        assert route.call_count == 2


def test_writes_are_spaced_per_identity() -> None:
    with respx.mock() as router:
        route = router.post(f"{BASE}/repos/o/r/issues").mock(return_value=httpx.Response(201, json=ISSUE))
        with GitHubClient(token=TOKEN, write_spacing=0.3) as gh:
            started = time.monotonic()
            for _ in range(3):
                gh.issues.create("o", "r", title="t")
            assert time.monotonic() - started >= 0.59
        assert route.call_count == 3


@pytest.mark.anyio
async def test_page_level_iterator() -> None:
    with respx.mock() as router:
        router.get(f"{BASE}/search/issues", params={"q": "x", "page": "2"}).mock(
            return_value=httpx.Response(200, json={"total_count": 3, "incomplete_results": False, "items": [ISSUE]})
        )
        router.get(f"{BASE}/search/issues", params={"q": "x"}).mock(
            return_value=httpx.Response(200, json={"total_count": 3, "incomplete_results": False, "items": [ISSUE, ISSUE]},
                                        headers={"link": f'<{BASE}/search/issues?q=x&page=2>; rel="next"'})
        )
        async with AsyncGitHubClient(token=TOKEN, **FAST) as gh:
            pages = [p async for p in gh.paginate_pages(gh.search.issues_and_pull_requests, q="x")]
    assert [(p.number, len(p.items)) for p in pages] == [(1, 2), (2, 1)]
    assert pages[0].value.total_count == 3 and pages[0].response.status_code == 200


def test_debug_logs_show_decisions_but_never_the_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="githubapp")
    with respx.mock() as router:
        issue_route(router).mock(side_effect=[httpx.Response(502), httpx.Response(200, json=ISSUE)])
        with GitHubClient(token=TOKEN, **FAST) as gh:
            gh.issues.get("o", "r", 7)
            assert TOKEN not in repr(gh)
    assert "retry 1 of GET" in caplog.text
    assert TOKEN not in caplog.text and TOKEN[4:] not in caplog.text


@pytest.mark.anyio
async def test_raw_request_refuses_to_send_credentials_to_another_host() -> None:
    with respx.mock() as router:
        uploads = router.post("https://uploads.github.com/repos/o/r/releases/1/assets").mock(return_value=httpx.Response(201, json={}))
        async with AsyncGitHubClient(token=TOKEN, **FAST) as gh:
            with pytest.raises(ValueError, match=r"evil\.example.*api\.github\.com"):
                await gh.request("GET", "https://evil.example/steal")
            await gh.request("POST", "https://uploads.github.com/repos/o/r/releases/1/assets", content=b"x")
        assert uploads.call_count == 1 and len(router.calls) == 1


@pytest.mark.anyio
async def test_a_next_link_pointing_back_stops_pagination_with_an_error() -> None:
    from githubapp.errors import GitHubError

    with respx.mock() as router:
        router.get(f"{BASE}/repos/o/r/issues").mock(
            return_value=httpx.Response(200, json=[ISSUE], headers={"link": f'<{BASE}/repos/o/r/issues?page=1>; rel="next"'})
        )
        async with AsyncGitHubClient(token=TOKEN, **FAST) as gh:
            with pytest.raises(GitHubError, match="already fetched"):
                async for _ in gh.paginate(gh.issues.list_for_repo, "o", "r"):
                    pass
        assert len(router.calls) == 2


def test_paginating_an_operation_that_returns_no_list_fails_before_any_request() -> None:
    with respx.mock() as router, GitHubClient(token=TOKEN, **FAST) as gh:
        with pytest.raises(TypeError, match="issues/get does not return a list"):
            gh.paginate(gh.issues.get, "o", "r", 7)
        assert len(router.calls) == 0
