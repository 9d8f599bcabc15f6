"""The minimal runtime: errors, bad input, spec drift, raw requests, pagination, config, models.

HTTP is mocked with respx; payloads come from the spec's own examples (``spec_helpers``), so a
model that cannot read GitHub's documented payload fails here too.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import warnings
from collections.abc import Iterator
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import pytest
import respx
from hypothesis import example, given, settings
from hypothesis import strategies as st
from spec_helpers import response_examples

import githubapp._decode as decode_module
from githubapp import AsyncGitHubClient, ClientConfig, GitHubClient
from githubapp._operation import add_query, expand_path, query_scalar
from githubapp.config import ConfigError
from githubapp.errors import (
    AsyncGitHubAPIError,
    AsyncGitHubRateLimitError,
    ForbiddenError,
    GitHubError,
    NotFoundError,
    ResponseValidationError,
    ServerError,
    SpecDriftWarning,
    TransportError,
    UnauthorizedError,
    ValidationFailedError,
    parse_retry_after,
)

BASE = "https://api.example.test"
HOST = "api.example.test"
TOKEN = "ghp_RuntimeTestToken0123456789"
DRIFT_OK = pytest.mark.filterwarnings("ignore::githubapp.errors.SpecDriftWarning")

pytestmark = pytest.mark.usefixtures("reuse_ssl_context")


# -- helpers -----------------------------------------------------------------------------------
def spec_example(operation_id: str, status: int = 200) -> Any:
    """A deep copy of the first documented example of ``operation_id``'s ``status`` response."""
    for ex in response_examples():
        assert ex.operation is not None
        if ex.operation.operation_id == operation_id and ex.status == status:
            return copy.deepcopy(ex.value)
    raise LookupError(f"{operation_id} {status}")


def issue_payload(number: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = spec_example("issues/get")
    if number is not None:
        data["number"] = number
        data["id"] = 1000 + number
    return data


@pytest.fixture(autouse=True)
def fresh_drift_reports() -> Iterator[None]:
    """Drift is reported once per process and place: start each test with a clean slate."""
    decode_module._REPORTED.clear()
    yield
    decode_module._REPORTED.clear()


#: one response -> one outcome: these tests check request building and error mapping, not the
#: pipeline's retries and waits (tests/test_pipeline*.py cover those)
NO_RETRY: dict[str, Any] = {"retry_attempts": 0, "max_rate_limit_wait": 0.0, "write_spacing": 0.0}


def client(**settings: Any) -> AsyncGitHubClient:
    return AsyncGitHubClient(token=TOKEN, base_url=BASE, **{**NO_RETRY, **settings})


def query_of(request: httpx.Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in parse_qsl(request.url.query.decode("ascii"), keep_blank_values=True):
        out.setdefault(key, []).append(value)
    return out


def assert_no_token(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
        assert TOKEN[4:] not in text


# -- errors ------------------------------------------------------------------------------------
@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (404, NotFoundError),
        (422, ValidationFailedError),
        (401, UnauthorizedError),
        (403, ForbiddenError),
        (500, ServerError),
    ],
)
async def test_error_status_maps_to_class_with_context(status: int, error_class: type[AsyncGitHubAPIError]) -> None:
    body: dict[str, Any] = {
        "message": f"Problem {status}",
        "documentation_url": f"https://docs.github.com/rest/e{status}",
    }
    if status == 422:
        body["errors"] = [{"resource": "Issue", "field": "title", "code": "missing_field"}]
    with respx.mock(assert_all_mocked=True) as router:
        router.get(f"{BASE}/repos/o/r/issues/7").respond(
            status, json=body, headers={"X-GitHub-Request-Id": "ABCD:12:34"}
        )
        async with client() as gh:
            with pytest.raises(error_class) as info:
                await gh.issues.get("o", "r", 7)
            client_repr = repr(gh)
    exc = info.value
    assert isinstance(exc, AsyncGitHubAPIError) and not isinstance(exc, AsyncGitHubRateLimitError)
    assert exc.status_code == status
    assert exc.message == f"Problem {status}"
    assert exc.documentation_url == f"https://docs.github.com/rest/e{status}"
    assert exc.request_id == "ABCD:12:34"
    assert exc.method == "GET"
    assert exc.url == f"{BASE}/repos/o/r/issues/7"
    assert exc.response_data == body
    assert f"Problem {status}" in str(exc) and "ABCD:12:34" in str(exc)
    if status == 422:
        assert exc.errors == body["errors"]
    assert_no_token(str(exc), repr(exc), client_repr)


def test_error_keeps_contract_signature() -> None:
    """``AsyncGitHubAPIError(message, status_code, response_data)`` as in fastapi-githubapp."""
    exc = AsyncGitHubAPIError("boom", 418, {"message": "boom"})
    assert (exc.message, exc.status_code, exc.response_data) == ("boom", 418, {"message": "boom"})
    limit = AsyncGitHubRateLimitError("slow down", 403, None, reset_time=datetime(2030, 1, 1, tzinfo=UTC))
    assert isinstance(limit, AsyncGitHubAPIError) and limit.reset_time == datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.anyio
async def test_non_json_error_body() -> None:
    with respx.mock(assert_all_mocked=True) as router:
        router.get(f"{BASE}/zen").respond(502, text="<html>Bad gateway</html>", headers={"Content-Type": "text/html"})
        async with client() as gh:
            with pytest.raises(ServerError) as info:
                await gh.meta.get_zen()
    assert info.value.status_code == 502 and "Bad gateway" in info.value.message


@pytest.mark.anyio
async def test_primary_rate_limit() -> None:
    """403 with ``x-ratelimit-remaining: 0`` -> rate-limit error with ``reset_time`` from ``x-ratelimit-reset``."""
    reset = int(datetime.now(UTC).timestamp()) + 3600
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-limit": "5000", "x-ratelimit-reset": str(reset)}
    with respx.mock(assert_all_mocked=True) as router:
        router.get(f"{BASE}/repos/o/r/issues/7").respond(
            403, json={"message": "API rate limit exceeded"}, headers=headers
        )
        async with client() as gh:
            with pytest.raises(AsyncGitHubRateLimitError) as info:
                await gh.issues.get("o", "r", 7)
    exc = info.value
    assert exc.reset_time == datetime.fromtimestamp(reset, UTC)
    assert exc.secondary is False and exc.status_code == 403
    assert_no_token(str(exc))


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "message", "retry_after", "expected"),
    [
        (429, "Too many requests", "17", 17.0),
        (403, "You have exceeded a secondary rate limit. Please wait.", "60", 60.0),
        (403, "You have exceeded a secondary rate limit.", None, None),
    ],
)
async def test_secondary_rate_limit(status: int, message: str, retry_after: str | None, expected: float | None) -> None:
    headers = {"retry-after": retry_after} if retry_after else {}
    with respx.mock(assert_all_mocked=True) as router:
        router.post(f"{BASE}/repos/o/r/issues").respond(status, json={"message": message}, headers=headers)
        async with client() as gh:
            with pytest.raises(AsyncGitHubRateLimitError) as info:
                await gh.issues.create("o", "r", title="t")
    assert info.value.secondary is True
    assert info.value.retry_after == expected
    assert info.value.status_code == status


@pytest.mark.anyio
async def test_plain_403_is_not_a_rate_limit() -> None:
    with respx.mock(assert_all_mocked=True) as router:
        router.get(f"{BASE}/repos/o/r/issues/7").respond(
            403, json={"message": "Resource not accessible by integration"}
        )
        async with client() as gh:
            with pytest.raises(ForbiddenError) as info:
                await gh.issues.get("o", "r", 7)
    assert not isinstance(info.value, AsyncGitHubRateLimitError)


@pytest.mark.anyio
@pytest.mark.parametrize("error", [httpx.ConnectError("connection refused"), httpx.ReadTimeout("timed out")])
async def test_transport_errors(error: Exception) -> None:
    with respx.mock(assert_all_mocked=True) as router:
        router.get(f"{BASE}/repos/o/r/issues/7").mock(side_effect=error)
        async with client() as gh:
            with pytest.raises(TransportError) as info:
                await gh.issues.get("o", "r", 7)
    exc = info.value
    assert isinstance(exc, GitHubError)
    assert exc.method == "GET" and exc.url == f"{BASE}/repos/o/r/issues/7"
    assert_no_token(str(exc), repr(exc))


def test_sync_client_errors_and_repr() -> None:
    with respx.mock(assert_all_mocked=True) as router:
        router.get(f"{BASE}/repos/o/r/issues/7").respond(404, json={"message": "Not Found"})
        with GitHubClient(token=TOKEN, base_url=BASE, **NO_RETRY) as gh:
            with pytest.raises(NotFoundError) as info:
                gh.issues.get("o", "r", 7)
            assert_no_token(repr(gh), str(info.value))


# -- bad input ---------------------------------------------------------------------------------
BAD_PATH_INPUT = [
    pytest.param({"owner": None, "repo": "r", "issue_number": 1}, "owner", TypeError, id="missing-None"),
    pytest.param({"owner": "o", "repo": "r", "issue_number": "7"}, "issue_number", TypeError, id="str-for-int"),
    pytest.param({"owner": "o", "repo": "r", "issue_number": True}, "issue_number", TypeError, id="bool-for-int"),
    pytest.param({"owner": "o", "repo": "r", "issue_number": 7.0}, "issue_number", TypeError, id="float-for-int"),
    pytest.param({"owner": 7, "repo": "r", "issue_number": 1}, "owner", TypeError, id="int-for-str"),
    pytest.param({"owner": "o", "repo": b"r", "issue_number": 1}, "repo", TypeError, id="bytes-for-str"),
    pytest.param({"owner": "", "repo": "r", "issue_number": 1}, "owner", ValueError, id="empty-str"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("args", "name", "error"), BAD_PATH_INPUT)
async def test_bad_path_parameter_fails_before_request(args: dict[str, Any], name: str, error: type[Exception]) -> None:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        route = router.route().respond(200, json=issue_payload())
        async with client() as gh:
            with pytest.raises(error) as info:
                await gh.issues.get(**args)
    assert not route.called
    assert repr(name) in str(info.value) or name in str(info.value)
    assert repr(args[name]) in str(info.value) or args[name] == ""


@pytest.mark.parametrize(("args", "name", "error"), BAD_PATH_INPUT)
def test_bad_path_parameter_sync(args: dict[str, Any], name: str, error: type[Exception]) -> None:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        route = router.route().respond(200, json=issue_payload())
        with GitHubClient(token=TOKEN, base_url=BASE, **NO_RETRY) as gh, pytest.raises(error, match=name):
            gh.issues.get(**args)
    assert not route.called


@pytest.mark.anyio
async def test_missing_path_argument_and_unknown_keyword() -> None:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        route = router.route().respond(200, json=[])
        async with client() as gh:
            with pytest.raises(TypeError, match="issue_number"):
                await gh.issues.get("o", "r")  # type: ignore[call-arg]
            with pytest.raises(TypeError, match="titel"):
                await gh.issues.create("o", "r", titel="t")  # type: ignore[call-arg]
            with pytest.raises(TypeError, match="bogus"):
                gh.paginate(gh.issues.list_for_repo, owner="o", repo="r", bogus=1)
            with pytest.raises(TypeError, match="positional"):
                gh.paginate(gh.issues.list_for_repo, "o", "r", "extra")
            with pytest.raises(TypeError, match="repo"):
                gh.paginate(gh.issues.list_for_repo, "o", repo="r", owner="again")
            with pytest.raises(TypeError, match="owner"):
                await gh.request("GET", "/repos/{owner}/{repo}", repo="r")
            with pytest.raises(TypeError, match="owner"):
                await gh.request("GET", "/repos/{owner}/{repo}", owner=True, repo="r")
    assert not route.called


@pytest.mark.anyio
async def test_unlisted_enum_values_are_sent_and_accepted() -> None:
    """Enums are not enforced at run time: GitHub adds values before its description does."""
    drifted = issue_payload()
    drifted["state_reason"] = "moved_elsewhere"
    with respx.mock(assert_all_mocked=True) as router:
        listing = router.get(f"{BASE}/repos/o/r/issues").respond(200, json=[drifted])
        reaction = router.post(f"{BASE}/repos/o/r/issues/3/reactions").respond(
            201, json=spec_example("reactions/create-for-issue")
        )
        async with client() as gh:
            with pytest.warns(SpecDriftWarning):
                issues = await gh.issues.list_for_repo("o", "r", state="archived", sort="reactions")  # type: ignore[arg-type]
            await gh.reactions.create_for_issue("o", "r", 3, content="party")  # type: ignore[arg-type]
    assert query_of(listing.calls.last.request) == {"state": ["archived"], "sort": ["reactions"]}
    assert json.loads(reaction.calls.last.request.content) == {"content": "party"}
    assert issues[0].state_reason == "moved_elsewhere"
    assert issues[0].number == drifted["number"]


# -- spec drift --------------------------------------------------------------------------------
def drift_cases() -> list[Any]:
    def missing(d: dict[str, Any]) -> None:
        del d["title"]

    def wrong_type(d: dict[str, Any]) -> None:
        d["comments"] = "many"

    def enum(d: dict[str, Any]) -> None:
        d["state_reason"] = "moved_elsewhere"

    def nested(d: dict[str, Any]) -> None:
        d["user"]["login"] = 12345

    return [
        pytest.param(missing, "title", None, id="missing-required"),
        pytest.param(wrong_type, "comments", "many", id="wrong-type"),
        pytest.param(enum, "state_reason", "moved_elsewhere", id="unknown-enum"),
        pytest.param(nested, "user", None, id="nested-wrong-type"),
    ]


@pytest.mark.anyio
@pytest.mark.parametrize(("mutate", "field", "kept"), drift_cases())
async def test_drift_returns_model_and_reports_once(
    mutate: Any, field: str, kept: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from githubapp.models.issue import Issue
    from githubapp.models.nullable_simple_user import NullableSimpleUser

    payload = issue_payload()
    mutate(payload)
    payload["brand_new_field"] = {"added": "later"}
    caplog.set_level(logging.WARNING, logger="githubapp")
    with respx.mock(assert_all_mocked=True) as router:
        router.get(f"{BASE}/repos/o/r/issues/7").respond(200, json=payload)
        async with client() as gh:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                first = await gh.issues.get("o", "r", 7)
                second = await gh.issues.get("o", "r", 7)
    drift = [w for w in caught if issubclass(w.category, SpecDriftWarning)]
    assert len(drift) == 1, [str(w.message) for w in caught]
    assert "issues/get" in str(drift[0].message)
    records = [r for r in caplog.records if r.name == "githubapp" and r.levelno == logging.WARNING]
    assert len(records) == 1
    for issue in (first, second):
        assert isinstance(issue, Issue)
        # what matches is typed ...
        assert isinstance(issue.created_at, datetime)
        assert issue.number == payload["number"]
        assert isinstance(issue.user, NullableSimpleUser)
        assert issue.labels and all(not isinstance(label, dict) for label in issue.labels)
        # ... what does not is kept as sent
        if field == "user":
            assert issue.user.login == 12345
        else:
            assert getattr(issue, field) == kept
        assert issue.model_extra is not None and issue.model_extra["brand_new_field"] == {"added": "later"}


@pytest.mark.anyio
async def test_different_drift_is_reported_separately() -> None:
    one, two = issue_payload(), issue_payload()
    del one["title"]
    two["comments"] = "many"
    with respx.mock(assert_all_mocked=True) as router:
        router.get(f"{BASE}/repos/o/r/issues/1").respond(200, json=one)
        router.get(f"{BASE}/repos/o/r/issues/2").respond(200, json=two)
        async with client() as gh:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                await gh.issues.get("o", "r", 1)
                await gh.issues.get("o", "r", 2)
    assert sum(issubclass(w.category, SpecDriftWarning) for w in caught) == 2


@pytest.mark.anyio
async def test_drift_in_a_list_keeps_good_items_typed() -> None:
    from githubapp.models.issue import Issue

    good, bad = issue_payload(1), issue_payload(2)
    bad["locked"] = "sometimes"
    with respx.mock(assert_all_mocked=True) as router:
        router.get(f"{BASE}/repos/o/r/issues").respond(200, json=[good, bad])
        async with client() as gh:
            with pytest.warns(SpecDriftWarning):
                issues = await gh.issues.list_for_repo("o", "r")
    assert [type(i) for i in issues] == [Issue, Issue]
    assert issues[0].locked is good["locked"] and issues[1].locked == "sometimes"
    assert isinstance(issues[1].created_at, datetime)


@pytest.mark.anyio
@pytest.mark.parametrize("how", ["keyword", "config"])
async def test_strict_mode_raises(how: str) -> None:
    payload = issue_payload()
    payload["comments"] = "many"
    settings = {"validation": "strict"} if how == "keyword" else {"config": ClientConfig(validation="strict")}
    with respx.mock(assert_all_mocked=True) as router:
        router.get(f"{BASE}/repos/o/r/issues/7").respond(200, json=payload)
        async with AsyncGitHubClient(token=TOKEN, base_url=BASE, **settings) as gh:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with pytest.raises(ResponseValidationError) as info:
                    await gh.issues.get("o", "r", 7)
    assert "issues/get" in str(info.value) and "comments" in str(info.value)
    assert not [w for w in caught if issubclass(w.category, SpecDriftWarning)]


@pytest.mark.anyio
async def test_matching_payload_takes_the_fast_path_silently(caplog: pytest.LogCaptureFixture) -> None:
    """A payload that matches (extra fields are allowed: GitHub adds fields first) is typed, silently."""
    from githubapp.models.issue import Issue

    payload = issue_payload()
    payload["field_added_by_github_later"] = {"x": 1}
    caplog.set_level(logging.WARNING, logger="githubapp")
    with respx.mock(assert_all_mocked=True) as router:
        router.get(f"{BASE}/repos/o/r/issues/7").respond(200, json=payload)
        async with client(validation="strict") as strict, client() as lenient:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                a = await strict.issues.get("o", "r", 7)
                b = await lenient.issues.get("o", "r", 7)
    assert not caught and not caplog.records and not decode_module._REPORTED
    assert isinstance(a, Issue) and a == b
    assert a.title == payload["title"]
    assert (a.model_extra or {})["field_added_by_github_later"] == {"x": 1}


# -- raw requests ------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_request_get_fills_template_and_query() -> None:
    with respx.mock(assert_all_mocked=True) as router:
        route = router.get(host=HOST).respond(200, json={"full_name": "a b/r"})
        async with client() as gh:
            response = await gh.request(
                "GET", "/repos/{owner}/{repo}", owner="a b", repo="r/x", per_page=5, archived=False
            )
    assert isinstance(response, httpx.Response) and response.json() == {"full_name": "a b/r"}
    request = route.calls.last.request
    assert request.url.raw_path == b"/repos/a%20b/r%2Fx?per_page=5&archived=false"
    assert request.content == b""
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["x-github-api-version"] == "2022-11-28"


@pytest.mark.anyio
async def test_request_post_puts_leftovers_in_json_body() -> None:
    with respx.mock(assert_all_mocked=True) as router:
        route = router.post(f"{BASE}/repos/o/r/issues").respond(201, json={"number": 1})
        async with client() as gh:
            response = await gh.request(
                "POST", "/repos/{owner}/{repo}/issues", owner="o", repo="r", title="t", milestone=None
            )
    assert response.status_code == 201
    request = route.calls.last.request
    assert json.loads(request.content) == {"title": "t", "milestone": None}
    assert request.headers["content-type"] == "application/json"
    assert request.url.query == b""


@pytest.mark.anyio
async def test_request_raises_mapped_errors() -> None:
    with respx.mock(assert_all_mocked=True) as router:
        router.get(f"{BASE}/nope").respond(404, json={"message": "Not Found"})
        async with client() as gh:
            with pytest.raises(NotFoundError):
                await gh.request("GET", "/nope")


@pytest.mark.anyio
async def test_request_keeps_query_of_the_url() -> None:
    """A query written in the URL (e.g. a ``next`` link or ``?q=``) is kept, and fields are added to it."""
    with respx.mock(assert_all_mocked=True) as router:
        route = router.get(host=HOST).respond(200, json={})
        async with client() as gh:
            await gh.request("GET", "/search/issues?q=is%3Aopen+repo%3Ao%2Fr", per_page=5)
            await gh.request("GET", f"{BASE}/repositories/9/issues?page=2")
    assert query_of(route.calls[0].request) == {"q": ["is:open repo:o/r"], "per_page": ["5"]}
    assert query_of(route.calls[1].request) == {"page": ["2"]}


def test_request_sync() -> None:
    with respx.mock(assert_all_mocked=True) as router:
        route = router.get(host=HOST).respond(200, json={})
        with GitHubClient(token=TOKEN, base_url=BASE, **NO_RETRY) as gh:
            gh.request("GET", "/users/{username}", username="a#b")
    assert route.calls.last.request.url.raw_path == b"/users/a%23b"


# -- pagination --------------------------------------------------------------------------------
def link(url: str, rel: str = "next") -> dict[str, str]:
    return {"Link": f'<{url}>; rel="{rel}", <{BASE}/repositories/9/issues?page=99>; rel="last"'}


def paged(pages: dict[str | None, tuple[Any, dict[str, str]]]) -> Any:
    """A respx side effect serving ``pages`` by their ``page`` query value; fails if paging loops."""
    sent: list[str] = []

    def respond(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        if len(sent) > 2 * len(pages):
            raise AssertionError(f"pagination does not terminate; requests so far: {sent}")
        body, headers = pages[request.url.params.get("page")]
        return httpx.Response(200, json=body, headers=headers)

    return respond


def three_pages(router: respx.MockRouter) -> respx.Route:
    """Pages of 2, 2 and 1 issues, chained by ``Link: rel="next"``."""
    pages: dict[str | None, tuple[Any, dict[str, str]]] = {
        None: ([issue_payload(1), issue_payload(2)], link(f"{BASE}/repositories/9/issues?per_page=2&page=2")),
        "2": ([issue_payload(3), issue_payload(4)], link(f"{BASE}/repositories/9/issues?per_page=2&page=3")),
        "3": ([issue_payload(5)], {}),
    }
    return router.get(host=HOST).mock(side_effect=paged(pages))


@pytest.mark.anyio
async def test_paginate_follows_link_next() -> None:
    from githubapp.models.issue import Issue

    with respx.mock(assert_all_mocked=True) as router:
        route = three_pages(router)
        async with client() as gh:
            items = [it async for it in gh.paginate(gh.issues.list_for_repo, owner="o", repo="r", per_page=2)]
    assert [i.number for i in items] == [1, 2, 3, 4, 5]
    assert all(isinstance(i, Issue) for i in items)
    urls = [str(call.request.url) for call in route.calls]
    assert urls == [
        f"{BASE}/repos/o/r/issues?per_page=2",
        f"{BASE}/repositories/9/issues?per_page=2&page=2",
        f"{BASE}/repositories/9/issues?per_page=2&page=3",
    ]
    assert all(call.request.headers["authorization"] == f"Bearer {TOKEN}" for call in route.calls)


def test_paginate_sync() -> None:
    with respx.mock(assert_all_mocked=True) as router:
        route = three_pages(router)
        with GitHubClient(token=TOKEN, base_url=BASE, **NO_RETRY) as gh:
            numbers = [i.number for i in gh.paginate(gh.issues.list_for_repo, "o", "r", per_page=2)]
    assert numbers == [1, 2, 3, 4, 5] and route.call_count == 3


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("max_items", "numbers", "requests"), [(0, [], 0), (2, [1, 2], 1), (3, [1, 2, 3], 2), (9, [1, 2, 3, 4, 5], 3)]
)
async def test_paginate_max_items(max_items: int, numbers: list[int], requests: int) -> None:
    """``max_items`` stops early and never fetches a page it does not need."""
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        route = three_pages(router)
        async with client() as gh:
            items = [i async for i in gh.paginate(gh.issues.list_for_repo, owner="o", repo="r", max_items=max_items)]
    assert [i.number for i in items] == numbers
    assert route.call_count == requests


@pytest.mark.anyio
async def test_paginate_wrapped_list() -> None:
    """``{"total_count": n, "workflow_runs": [...]}`` pages yield the runs."""
    from githubapp.models.workflow_run import WorkflowRun

    page = spec_example("actions/list-workflow-runs-for-repo")
    run = page["workflow_runs"][0]
    first = {"total_count": 3, "workflow_runs": [{**run, "id": 1}, {**run, "id": 2}]}
    second = {"total_count": 3, "workflow_runs": [{**run, "id": 3}]}
    with respx.mock(assert_all_mocked=True) as router:
        pages: dict[str | None, tuple[Any, dict[str, str]]] = {
            None: (first, link(f"{BASE}/repos/o/r/actions/runs?status=completed&page=2")),
            "2": (second, {}),
        }
        router.get(f"{BASE}/repos/o/r/actions/runs").mock(side_effect=paged(pages))
        async with client() as gh:
            runs = [r async for r in gh.paginate(gh.actions.list_workflow_runs_for_repo, "o", "r", status="completed")]
    assert [r.id for r in runs] == [1, 2, 3]
    assert all(isinstance(r, WorkflowRun) for r in runs)


@pytest.mark.anyio
async def test_paginate_refuses_link_to_another_host() -> None:
    with respx.mock(assert_all_mocked=True) as router:
        route = router.get(host=HOST).respond(
            200, json=[issue_payload(1)], headers=link("https://evil.example/steal?page=2")
        )
        async with client() as gh:
            with pytest.raises(GitHubError, match=r"evil\.example"):
                _ = [i async for i in gh.paginate(gh.issues.list_for_repo, owner="o", repo="r")]
    assert route.call_count == 1


@pytest.mark.anyio
async def test_paginate_non_list_operation() -> None:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.route().respond(200, json=issue_payload())
        async with client() as gh:
            with pytest.raises(TypeError, match="issues/get"):
                _ = [i async for i in gh.paginate(gh.issues.get, "o", "r", 1)]
            with pytest.raises(TypeError):
                gh.paginate(lambda: None)


# -- ClientConfig ------------------------------------------------------------------------------
BAD_CONFIG = [
    ({"timeout": -1}, "timeout", "-1"),
    ({"timeout": "fast"}, "timeout", "fast"),
    ({"validation": "loose"}, "validation", "loose"),
    ({"pool_size": 0}, "pool_size", "0"),
    ({"pool_size": True}, "pool_size", "True"),
    ({"base_url": "ftp://x"}, "base_url", "ftp://x"),
    ({"keepalive_expiry": 0}, "keepalive_expiry", "0"),
    ({"timeout": float("inf")}, "timeout", "inf"),  # "no request can hang forever"
    ({"timeout": float("nan")}, "timeout", "nan"),
]


@pytest.mark.parametrize(("settings", "key", "value"), BAD_CONFIG, ids=[f"{k}={v}" for _, k, v in BAD_CONFIG])
def test_config_rejects_bad_values(settings: dict[str, Any], key: str, value: str) -> None:
    with pytest.raises(ValueError) as info:
        ClientConfig(**settings)
    assert isinstance(info.value, ConfigError)
    assert key in str(info.value) and value in str(info.value)
    with pytest.raises(ConfigError, match=key):
        AsyncGitHubClient(token=TOKEN, **settings)


def test_config_unknown_setting_named() -> None:
    with pytest.raises(ConfigError, match="timeot"):
        AsyncGitHubClient(token=TOKEN, timeot=3)


def test_config_from_mapping_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    mapping = {
        "GITHUBAPP_CLIENT_TIMEOUT": "12.5",
        "GITHUBAPP_CLIENT_POOL_SIZE": " 4 ",
        "GITHUBAPP_CLIENT_VALIDATION": "strict",
        "GITHUBAPP_CLIENT_BASE_URL": "https://ghe.example/api/v3/",
        "GITHUBAPP_CLIENT_USER_AGENT": "my-app/1.0",
        "UNRELATED": "ignored",
    }
    config = ClientConfig.from_mapping(mapping)
    assert (config.timeout, config.pool_size, config.validation) == (12.5, 4, "strict")
    assert config.base_url == "https://ghe.example/api/v3" and config.user_agent == "my-app/1.0"
    assert ClientConfig.from_mapping(mapping, timeout=3).timeout == 3.0
    with pytest.raises(ConfigError, match=r"GITHUBAPP_CLIENT_POOL_SIZE.*many"):
        ClientConfig.from_mapping({"GITHUBAPP_CLIENT_POOL_SIZE": "many"})
    with pytest.raises(ConfigError, match="timeout"):
        ClientConfig.from_mapping({"GITHUBAPP_CLIENT_TIMEOUT": "-2"})
    for key, value in mapping.items():
        monkeypatch.setenv(key, value)
    assert ClientConfig.from_env() == config
    monkeypatch.setenv("GITHUBAPP_CLIENT_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match=r"GITHUBAPP_CLIENT_TIMEOUT.*soon"):
        ClientConfig.from_env()
    with pytest.raises(FrozenInstanceError):
        config.timeout = 1  # type: ignore[misc]


@pytest.mark.anyio
async def test_config_reaches_the_wire() -> None:
    """user_agent and api_version from the config are what the request carries."""
    config = ClientConfig(user_agent="my-app/2.0", base_url=BASE + "/")
    with respx.mock(assert_all_mocked=True) as router:
        route = router.get(f"{BASE}/zen").respond(200, text="ok", headers={"Content-Type": "text/plain"})
        async with AsyncGitHubClient(token=TOKEN, config=config) as gh:
            await gh.meta.get_zen()
    assert route.calls.last.request.headers["user-agent"] == "my-app/2.0"


# -- models ------------------------------------------------------------------------------------
def test_model_by_attribute_and_by_key() -> None:
    from githubapp.models.issue import Issue

    payload = issue_payload()
    payload["brand_new_field"] = [1, 2]
    issue = Issue.model_validate(payload)
    assert issue["title"] == issue.title == payload["title"]
    assert issue["number"] == payload["number"]
    assert issue["brand_new_field"] == [1, 2] == (issue.model_extra or {})["brand_new_field"]
    with pytest.raises(KeyError):
        issue["no_such_field"]


def test_model_aliases() -> None:
    """``+1`` -> ``plus_one``, ``_links`` -> ``links``; dumping by alias gives the wire names back."""
    from githubapp.models.license_content import LicenseContent
    from githubapp.models.reaction_rollup import ReactionRollup

    rollup_data = {
        "url": "u",
        "total_count": 5,
        "+1": 3,
        "-1": 1,
        "laugh": 0,
        "confused": 0,
        "heart": 1,
        "hooray": 0,
        "eyes": 0,
        "rocket": 0,
    }
    rollup = ReactionRollup.model_validate(rollup_data)
    assert (rollup.plus_one, rollup.minus_one) == (3, 1)
    assert rollup["+1"] == 3 and rollup["plus_one"] == 3
    assert rollup.model_dump(by_alias=True)["+1"] == 3
    by_name = {("plus_one" if k == "+1" else "minus_one" if k == "-1" else k): v for k, v in rollup_data.items()}
    assert ReactionRollup(**by_name) == rollup  # filled by Python name too
    data = spec_example("licenses/get-for-repo")
    content = LicenseContent.model_validate(data)
    assert content.links.html == data["_links"]["html"]
    assert content["_links"] is content.links
    assert not content.model_extra
    assert content.model_dump(mode="json", by_alias=True)["_links"] == data["_links"]


# -- properties --------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1))
def test_path_value_round_trips(value: str) -> None:
    """Any text is one percent-encoded segment: nothing in it changes the path's shape."""
    if value in (".", ".."):
        return  # dot segments: see test_requests.test_dot_segments_are_not_resolved
    path = expand_path("/a/{v}/b", (("v", "v", "str"),), {"v": value}, "test")
    segment = path.split("/")[2]
    assert path == f"/a/{segment}/b"
    assert not set(segment) & set("/?#")
    assert unquote(segment) == value
    raw = httpx.Request("GET", BASE + path).url.raw_path.decode()  # and httpx sends it unchanged
    assert raw == path


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-(2**63), max_value=2**63))
def test_int_path_value(value: int) -> None:
    assert expand_path("/a/{n}", (("n", "n", "int"),), {"n": value}, "test") == f"/a/{value}"


scalars = st.one_of(st.booleans(), st.integers(), st.text(max_size=20))


def expected_scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


@settings(max_examples=150, deadline=None)
@given(st.one_of(scalars, st.lists(scalars, max_size=5)), st.sampled_from(["form", "csv"]))
def test_query_serialization(value: Any, style: str) -> None:
    params: list[tuple[str, str]] = []
    add_query(params, "k", value, style)
    if isinstance(value, list):
        texts = [expected_scalar(v) for v in value]
        assert params == ([("k", ",".join(texts))] if style == "csv" else [("k", t) for t in texts])
    else:
        assert params == [("k", expected_scalar(value))]
        assert query_scalar(value) == expected_scalar(value)


@settings(max_examples=100, deadline=None)
@given(st.datetimes(timezones=st.just(UTC)))
def test_query_datetime_is_iso_z(value: datetime) -> None:
    text = query_scalar(value)
    assert text.endswith("Z") and "+" not in text
    assert datetime.fromisoformat(text.replace("Z", "+00:00")) == value


NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-(10**6), max_value=10**9))
def test_retry_after_seconds(seconds: int) -> None:
    assert parse_retry_after(str(seconds), NOW) == max(0.0, float(seconds))


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-(10**7), max_value=10**7))
def test_retry_after_http_date(offset: int) -> None:
    when = format_datetime(NOW + timedelta(seconds=offset), usegmt=True)
    assert parse_retry_after(when, NOW) == max(0.0, float(offset))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
@example("")
@example("Wed, 21 Oct 2015 07:28:00 GMT")
@example("-5")
def test_retry_after_never_negative(text: str) -> None:
    result = parse_retry_after(text, NOW)
    assert result is None or result >= 0


@pytest.mark.parametrize("text", ["inf", "Infinity", "1e400", "nan"])
def test_retry_after_is_finite(text: str) -> None:
    """A malformed ``Retry-After`` must not become an infinite (or NaN) wait."""
    result = parse_retry_after(text, NOW)
    assert result is None or math.isfinite(result)
