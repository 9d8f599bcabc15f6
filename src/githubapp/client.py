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
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import httpx

from ._operation import UNSET, Operation, prepare
from ._shared import decode_response, raw_request, resolve_settings
from .graphql import REPOSITORY_DETAILS_QUERY, RepositoryDetails, graphql_data, graphql_request
from .http import AsyncPipeline
from .http.pipeline import default_headers, limits
from .pagination import PageWalker, apaginate
from .rest import AsyncNamespaces

if TYPE_CHECKING:
    from .auth import TokenAuth
    from .config import ClientConfig
    from .models.full_repository import FullRepository
    from .models.issue import Issue
    from .models.issue_comment import IssueComment
    from .models.pull_request import PullRequest
    from .models.pull_request_merge_result import PullRequestMergeResult
    from .models.pull_request_review import PullRequestReview

__all__ = ["AsyncGitHubClient"]

T = TypeVar("T")


class AsyncGitHubClient(AsyncNamespaces):
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
        auth: TokenAuth | None = None,
        http_client: httpx.AsyncClient | None = None,
        **settings: Any,
    ) -> None:
        self.config, self.auth = resolve_settings(token, base_url, config, auth, settings)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            headers=default_headers(self.config),
            timeout=httpx.Timeout(self.config.timeout),
            limits=limits(self.config),
            follow_redirects=True,
        )
        self._pipeline = AsyncPipeline(self._http, self.auth)

    def __repr__(self) -> str:
        return f"AsyncGitHubClient(base_url={self.config.base_url!r}, auth={self.auth!r})"

    async def __aenter__(self) -> AsyncGitHubClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (only if this client created it)."""
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

    async def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> Any:
        """Run a GraphQL query or mutation through the same pipeline; returns ``data``.

        Raises :class:`~githubapp.graphql.GraphQLError` (``.errors``, partial ``.data``) on errors.
        """
        response = await self._pipeline.send(graphql_request(self.config.base_url, query, variables))
        return graphql_data(response.content)

    async def execute_graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> Any:
        """Alias of :meth:`graphql`."""
        return await self.graphql(query, variables)

    async def get_repository_details_graphql(self, owner: str, repo: str) -> RepositoryDetails:
        """Id, name, description, URL, stars, forks, default branch, language, topics, dates, visibility."""
        data = await self.graphql(REPOSITORY_DETAILS_QUERY, {"owner": owner, "name": repo})
        return RepositoryDetails.from_data(data)

    # -- convenience methods: thin typed wrappers of the generated operations -------------------
    async def get_repository(self, owner: str, repo: str) -> FullRepository:
        """``repos.get``."""
        return await self.repos.get(owner, repo)

    async def create_repository(self, name: str, *, org: str | None = None, **fields: Any) -> FullRepository:
        """Create ``name`` for the authenticated user, or in ``org`` (``repos.create_in_org``)."""
        if org is not None:
            return await self.repos.create_in_org(org, name=name, **fields)
        created: FullRepository = await self.repos.create_for_authenticated_user(name=name, **fields)
        return created

    async def update_repository(self, owner: str, repo: str, **fields: Any) -> FullRepository:
        """``repos.update`` with the given fields (``description=``, ``private=``, ...)."""
        return await self.repos.update(owner, repo, **fields)

    async def get_issue(self, owner: str, repo: str, issue_number: int) -> Issue:
        """``issues.get``."""
        return await self.issues.get(owner, repo, issue_number)

    async def create_issue(self, owner: str, repo: str, title: str, body: str = UNSET, **fields: Any) -> Issue:
        """``issues.create`` (``labels=``, ``assignees=``, ``milestone=`` as keywords)."""
        return await self.issues.create(owner, repo, title=title, body=body, **fields)

    async def update_issue(self, owner: str, repo: str, issue_number: int, **fields: Any) -> Issue:
        """``issues.update`` with the given fields."""
        return await self.issues.update(owner, repo, issue_number, **fields)

    async def close_issue(
        self,
        owner: str,
        repo: str,
        issue_number: int,
        *,
        state_reason: Literal["completed", "not_planned", "duplicate"] | None = UNSET,
    ) -> Issue:
        """Close an issue: ``issues.update(state="closed")``."""
        return await self.issues.update(owner, repo, issue_number, state="closed", state_reason=state_reason)

    async def add_issue_comment(self, owner: str, repo: str, issue_number: int, body: str) -> IssueComment:
        """``issues.create_comment``."""
        return await self.issues.create_comment(owner, repo, issue_number, body=body)

    async def get_pull_request(self, owner: str, repo: str, pull_number: int) -> PullRequest:
        """``pulls.get``."""
        return await self.pulls.get(owner, repo, pull_number)

    async def create_pull_request(
        self, owner: str, repo: str, title: str, head: str, base: str, body: str = UNSET, **fields: Any
    ) -> PullRequest:
        """``pulls.create`` (``draft=``, ``maintainer_can_modify=`` as keywords)."""
        return await self.pulls.create(owner, repo, title=title, head=head, base=base, body=body, **fields)

    async def merge_pull_request(self, owner: str, repo: str, pull_number: int, **fields: Any) -> PullRequestMergeResult:
        """``pulls.merge`` (``merge_method="squash"``, ``commit_title=``, ...)."""
        return await self.pulls.merge(owner, repo, pull_number, **fields)

    async def add_pr_review(self, owner: str, repo: str, pull_number: int, **fields: Any) -> PullRequestReview:
        """``pulls.create_review`` (``event="APPROVE"``, ``body=``, ``comments=``)."""
        return await self.pulls.create_review(owner, repo, pull_number, **fields)
