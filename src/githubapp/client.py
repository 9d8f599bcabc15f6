"""``AsyncGitHubClient``: the typed async client for the whole GitHub REST API.

    async with AsyncGitHubClient(token="ghp_...") as gh:
        issue = await gh.issues.create(owner="o", repo="r", title="Bug", body="Steps...")   # -> Issue
        issue = await gh.issues.get("o", "r", issue.number)      # path params positional or keyword
        async for it in gh.paginate(gh.issues.list_for_repo, owner="o", repo="r", per_page=100):
            print(it.title)
        resp = await gh.request("GET", "/repos/{owner}/{repo}", owner="o", repo="r")   # httpx.Response

Namespaces (``gh.issues``, ``gh.repos``, ...) are generated and imported on first use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar, Unpack, overload

import httpx

from ._graphql_batch_methods import AsyncGraphQLBatchMethods
from ._operation import UNSET, Operation, prepare
from ._shared import decode_response, raw_request, resolve_settings
from .http import AsyncPipeline
from .http.transports import async_http_client, direct_sender
from .pagination import Page, PageWalker, apages, apaginate
from .rest import AsyncNamespaces

if TYPE_CHECKING:
    from .auth import Auth
    from .config import ClientConfig, ClientSettings
    from .http.state import PipelineState, PipelineStats
    from .models.full_repository import FullRepository
    from .models.issue import Issue
    from .models.issue_comment import IssueComment
    from .models.issues_update_response import IssuesUpdateResponse
    from .models.pull_request import PullRequest
    from .models.pull_request_merge_result import PullRequestMergeResult
    from .models.pull_request_review import PullRequestReview

__all__ = ["AsyncGitHubClient"]

T = TypeVar("T")


class AsyncGitHubClient(AsyncGraphQLBatchMethods, AsyncNamespaces):
    """Async GitHub REST client. One instance owns one connection pool; close it (or use ``async with``).

    ``token`` is sent as ``Authorization: Bearer``; other keywords are :class:`ClientConfig` settings
    (``timeout=``, ``validation="strict"``, ...).
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str | None = None,
        config: ClientConfig | None = None,
        auth: Auth | None = None,
        http_client: httpx.AsyncClient | None = None,
        state: PipelineState | None = None,
        **settings: Unpack[ClientSettings],
    ) -> None:
        self.config, self.auth = resolve_settings(token, base_url, config, auth, settings)
        self._owns_http = http_client is None
        self._http = http_client or async_http_client(self.config)
        # transport="aiohttp": requests go straight to the aiohttp pool of a client async_http_client
        # made (here, or passed in and shared); any other client sends through httpx
        sender = direct_sender(self._http)
        self._pipeline = AsyncPipeline(self._http, self.auth, self.config, state, sender=sender)

    @property
    def stats(self) -> PipelineStats:
        """What the pipeline did so far: requests, retries, waits, cache and breaker counts."""
        return self._pipeline.state.stats()

    def __repr__(self) -> str:
        return f"AsyncGitHubClient(base_url={self.config.base_url!r}, auth={self.auth!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (only if this client created it; with ``transport="aiohttp"``
        that closes the aiohttp session the direct path sends with, too)."""
        if self._owns_http:
            await self._http.aclose()

    async def _call(self, op: Operation, args: Mapping[str, Any]) -> Any:
        response = await self._pipeline.send(prepare(op, args, self.config.base_url))
        return decode_response(op, response, self.config)

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        **fields: Any,
    ) -> httpx.Response:
        """Any endpoint, raw: ``{placeholders}`` filled from ``fields``; returns the :class:`httpx.Response`.

        The remaining ``fields`` go to the query (GET/HEAD/DELETE) or the JSON body. Error statuses
        raise the same exceptions as typed calls.
        """
        prepared = raw_request(self.config, method, url, params=params, json=json, headers=headers, content=content, fields=fields)
        return await self._pipeline.send(prepared)

    @overload
    def paginate(
        self, method: Callable[..., Awaitable[list[T]]], /, *args: Any, max_items: int | None = None, **kwargs: Any
    ) -> AsyncIterator[T]: ...
    @overload
    def paginate(
        self, method: Callable[..., Awaitable[Any]], /, *args: Any, max_items: int | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]: ...
    def paginate(
        self, method: Callable[..., Awaitable[Any]], /, *args: Any, max_items: int | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        """Iterate the items of every page of a list operation, following ``Link: rel="next"``."""
        return apaginate(self, PageWalker(self.config, method, args, kwargs, max_items))

    @overload
    def paginate_pages(
        self, method: Callable[..., Awaitable[list[T]]], /, *args: Any, max_items: int | None = None, **kwargs: Any
    ) -> AsyncIterator[Page[T]]: ...
    @overload
    def paginate_pages(
        self, method: Callable[..., Awaitable[Any]], /, *args: Any, max_items: int | None = None, **kwargs: Any
    ) -> AsyncIterator[Page[Any]]: ...
    def paginate_pages(
        self, method: Callable[..., Awaitable[Any]], /, *args: Any, max_items: int | None = None, **kwargs: Any
    ) -> AsyncIterator[Page[Any]]:
        """Like :meth:`paginate`, one :class:`~githubapp.pagination.Page` (items, value, response) at a time."""
        return apages(self, PageWalker(self.config, method, args, kwargs, max_items))

    # -- convenience methods: thin typed wrappers of the generated operations -------------------
    # Each forwards to one generated method; UNSET keywords are not sent. For fields not listed
    # here, call the generated method (named in each docstring) directly.
    async def get_repository(self, owner: str, repo: str) -> FullRepository:
        """``repos.get``."""
        return await self.repos.get(owner, repo)

    async def create_repository(
        self,
        name: str,
        *,
        org: str | None = None,
        description: str = UNSET,
        homepage: str = UNSET,
        private: bool = UNSET,
        has_issues: bool = UNSET,
        has_projects: bool = UNSET,
        has_wiki: bool = UNSET,
        is_template: bool = UNSET,
        auto_init: bool = UNSET,
        gitignore_template: str = UNSET,
        license_template: str = UNSET,
    ) -> FullRepository:
        """Create ``name`` for the authenticated user (``repos.create_for_authenticated_user``) or in ``org``
        (``repos.create_in_org``)."""
        if org is not None:
            return await self.repos.create_in_org(
                org, name=name, description=description, homepage=homepage, private=private,
                has_issues=has_issues, has_projects=has_projects, has_wiki=has_wiki, is_template=is_template,
                auto_init=auto_init, gitignore_template=gitignore_template, license_template=license_template,
            )
        return await self.repos.create_for_authenticated_user(
            name=name, description=description, homepage=homepage, private=private,
            has_issues=has_issues, has_projects=has_projects, has_wiki=has_wiki, is_template=is_template,
            auto_init=auto_init, gitignore_template=gitignore_template, license_template=license_template,
        )

    async def update_repository(
        self,
        owner: str,
        repo: str,
        *,
        name: str = UNSET,
        description: str = UNSET,
        homepage: str = UNSET,
        private: bool = UNSET,
        visibility: Literal["public", "private"] = UNSET,
        default_branch: str = UNSET,
        has_issues: bool = UNSET,
        has_projects: bool = UNSET,
        has_wiki: bool = UNSET,
        is_template: bool = UNSET,
        archived: bool = UNSET,
    ) -> FullRepository:
        """``repos.update``."""
        return await self.repos.update(
            owner, repo, name=name, description=description, homepage=homepage, private=private,
            visibility=visibility, default_branch=default_branch, has_issues=has_issues,
            has_projects=has_projects, has_wiki=has_wiki, is_template=is_template, archived=archived,
        )

    async def get_issue(self, owner: str, repo: str, issue_number: int) -> Issue:
        """``issues.get``."""
        return await self.issues.get(owner, repo, issue_number)

    async def create_issue(
        self,
        owner: str,
        repo: str,
        title: str,
        body: str = UNSET,
        *,
        assignees: list[str] = UNSET,
        labels: list[str | Mapping[str, Any]] = UNSET,
        milestone: str | int | None = UNSET,
        type: str | None = UNSET,
    ) -> Issue:
        """``issues.create``."""
        return await self.issues.create(
            owner, repo, title=title, body=body, assignees=assignees, labels=labels, milestone=milestone, type=type
        )

    async def update_issue(
        self,
        owner: str,
        repo: str,
        issue_number: int,
        *,
        title: str = UNSET,
        body: str | None = UNSET,
        state: Literal["open", "closed"] = UNSET,
        state_reason: Literal["completed", "not_planned", "duplicate", "reopened"] | None = UNSET,
        assignees: list[str | Mapping[str, Any]] = UNSET,
        labels: list[str | Mapping[str, Any]] = UNSET,
        milestone: str | int | None = UNSET,
    ) -> IssuesUpdateResponse:
        """``issues.update``."""
        return await self.issues.update(
            owner, repo, issue_number, title=title, body=body, state=state, state_reason=state_reason,
            assignees=assignees, labels=labels, milestone=milestone,
        )

    async def close_issue(
        self,
        owner: str,
        repo: str,
        issue_number: int,
        *,
        state_reason: Literal["completed", "not_planned", "duplicate"] | None = UNSET,
    ) -> IssuesUpdateResponse:
        """Close an issue: ``issues.update(state="closed")``."""
        return await self.issues.update(owner, repo, issue_number, state="closed", state_reason=state_reason)

    async def add_issue_comment(self, owner: str, repo: str, issue_number: int, body: str) -> IssueComment:
        """``issues.create_comment``."""
        return await self.issues.create_comment(owner, repo, issue_number, body=body)

    async def get_pull_request(self, owner: str, repo: str, pull_number: int) -> PullRequest:
        """``pulls.get``."""
        return await self.pulls.get(owner, repo, pull_number)

    async def create_pull_request(
        self,
        owner: str,
        repo: str,
        title: str,
        head: str,
        base: str,
        body: str = UNSET,
        *,
        draft: bool = UNSET,
        maintainer_can_modify: bool = UNSET,
        head_repo: str = UNSET,
    ) -> PullRequest:
        """``pulls.create``."""
        return await self.pulls.create(
            owner, repo, title=title, head=head, base=base, body=body, draft=draft,
            maintainer_can_modify=maintainer_can_modify, head_repo=head_repo,
        )

    async def merge_pull_request(
        self,
        owner: str,
        repo: str,
        pull_number: int,
        *,
        commit_title: str = UNSET,
        commit_message: str = UNSET,
        sha: str = UNSET,
        merge_method: Literal["merge", "squash", "rebase"] = UNSET,
    ) -> PullRequestMergeResult:
        """``pulls.merge``."""
        return await self.pulls.merge(
            owner, repo, pull_number, commit_title=commit_title, commit_message=commit_message, sha=sha,
            merge_method=merge_method,
        )

    async def add_pr_review(
        self,
        owner: str,
        repo: str,
        pull_number: int,
        *,
        event: Literal["APPROVE", "REQUEST_CHANGES", "COMMENT"] = UNSET,
        body: str = UNSET,
        commit_id: str = UNSET,
        comments: list[Mapping[str, Any]] = UNSET,
    ) -> PullRequestReview:
        """``pulls.create_review``."""
        return await self.pulls.create_review(
            owner, repo, pull_number, event=event, body=body, commit_id=commit_id, comments=comments
        )
