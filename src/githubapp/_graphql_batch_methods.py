"""The GraphQL, batch and bulk methods of both clients (mixed into ``AsyncGitHubClient`` / ``GitHubClient``).

They send through the client's one pipeline (``self._pipeline.send``) or call the client's own
methods, so GraphQL and batched calls get the same auth, throttling, rate-limit, breaker and retry
behaviour as REST calls. The heavy modules (``graphql``, ``batch``, graphql-core) load on first use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from ._operation import UNSET

if TYPE_CHECKING:
    from .batch import AsyncCall, ProgressCallback, SyncCall
    from .config import ClientConfig
    from .graphql import GraphQLData, RepositoryDetails
    from .http import AsyncPipeline, SyncPipeline
    from .models.issues_update_response import IssuesUpdateResponse
    from .models.label import Label
    from .rest.issues import AsyncIssuesApi, IssuesApi

__all__ = ["AsyncGraphQLBatchMethods", "SyncGraphQLBatchMethods"]

T = TypeVar("T")
StateReason = Literal["completed", "not_planned", "duplicate", "reopened"]
CloseReason = Literal["completed", "not_planned", "duplicate"]


def _issue_numbers(numbers: Iterable[int]) -> list[int]:
    """``numbers`` as a list of distinct positive ints; a bad or repeated one raises, naming it."""
    if isinstance(numbers, (str, bytes)) or not isinstance(numbers, Iterable):
        raise TypeError(f"numbers must be an iterable of issue numbers, got {type(numbers).__name__} {numbers!r:.80}")
    result = list(numbers)
    seen: set[int] = set()
    for n in result:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise TypeError(f"numbers: each issue number must be a positive int, got {type(n).__name__} {n!r}")
        if n in seen:
            raise ValueError(f"numbers: issue {n} is listed more than once")
        seen.add(n)
    return result


def _labels(labels: Sequence[str]) -> list[str]:
    if isinstance(labels, str) or not isinstance(labels, Sequence) or not labels:
        raise ValueError(f"labels must be a non-empty list of label names, got {labels!r}")
    for label in labels:
        if not isinstance(label, str) or not label:
            raise TypeError(f"labels: each label must be a non-empty str, got {label!r}")
    return list(labels)


def _issue_fields(fields: dict[str, Any]) -> dict[str, Any]:
    chosen = {k: v for k, v in fields.items() if v is not UNSET}
    for key in ("assignees", "labels"):
        value = chosen.get(key)
        if key in chosen and (isinstance(value, str) or not isinstance(value, Sequence)):
            raise TypeError(f"bulk_update_issues: {key} must be a list of str, got {value!r}")
        if key in chosen:
            chosen[key] = list(value)  # type: ignore[arg-type]
    if not chosen:
        raise ValueError("bulk_update_issues: pass at least one field to change (title=, state=, labels=, ...)")
    return chosen


class AsyncGraphQLBatchMethods:
    """GraphQL, ``batch`` and the bulk helpers of :class:`~githubapp.AsyncGitHubClient`."""

    config: ClientConfig
    _pipeline: AsyncPipeline

    if TYPE_CHECKING:  # provided by the generated AsyncNamespaces the client also inherits

        @cached_property
        def issues(self) -> AsyncIssuesApi: ...

    # -- GraphQL ---------------------------------------------------------------------------------

    @overload
    async def graphql(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        operation_name: str | None = None,
        allow_partial: Literal[False] = False,
    ) -> Any: ...
    @overload
    async def graphql(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        operation_name: str | None = None,
        allow_partial: Literal[True],
    ) -> GraphQLData: ...
    async def graphql(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        operation_name: str | None = None,
        allow_partial: bool = False,
    ) -> Any:
        """Run a GraphQL query or mutation through the REST pipeline; returns the response's ``data``.

            data = await gh.graphql("query($login: String!) { user(login: $login) { name } }", {"login": "octocat"})

        The query is checked before sending (:class:`~githubapp.graphql.GraphQLSyntaxError`). A response
        with ``errors`` raises :class:`~githubapp.graphql.GraphQLError` (``.errors``, partial ``.data``);
        with ``allow_partial=True`` it returns :class:`~githubapp.graphql.GraphQLData` (a dict with
        ``.errors``) instead. HTTP and transport failures raise the REST exceptions.
        """
        from .graphql import graphql_request, graphql_result

        prepared = graphql_request(self.config.base_url, query, variables, operation_name)
        response = await self._pipeline.send(prepared)
        return graphql_result(prepared, response.status_code, response.headers, response.content, allow_partial=allow_partial)

    @overload
    async def execute_graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, *, operation_name: str | None = None,
        allow_partial: Literal[False] = False,
    ) -> Any: ...
    @overload
    async def execute_graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, *, operation_name: str | None = None,
        allow_partial: Literal[True],
    ) -> GraphQLData: ...
    async def execute_graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, *, operation_name: str | None = None,
        allow_partial: bool = False,
    ) -> Any:
        """Alias of :meth:`graphql`."""
        return await self.graphql(query, variables, operation_name=operation_name, allow_partial=allow_partial)  # type: ignore[call-overload]

    def paginate_graphql(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        path: str = "repository.issues",
        *,
        operation_name: str | None = None,
        max_items: int | None = None,
    ) -> AsyncIterator[Any]:
        """Iterate the nodes of the connection at ``path``, page after page, following ``$cursor``.

            query = '''query($owner: String!, $name: String!, $cursor: String) {
              repository(owner: $owner, name: $name) {
                issues(first: 100, after: $cursor) { nodes { number title } pageInfo { hasNextPage endCursor } }
              }
            }'''
            async for issue in gh.paginate_graphql(query, {"owner": "o", "name": "r"}, path="repository.issues"):
                print(issue["number"], issue["title"])

        Raises :class:`~githubapp.graphql.GraphQLPaginationError` when ``path`` is missing from the data,
        ``pageInfo`` is not selected, or the cursor does not advance. The query is checked at once.
        """
        from .graphql import GraphQLPageWalker

        walker = GraphQLPageWalker(
            self.config.base_url, query, variables, path, operation_name=operation_name, max_items=max_items
        )
        return self._walk_graphql(walker)

    async def _walk_graphql(self, walker: Any) -> AsyncIterator[Any]:
        while walker.request is not None:
            response = await self._pipeline.send(walker.request)
            for node in walker.feed(response.content, response.status_code, response.headers):
                yield node

    async def get_repository_details_graphql(self, owner: str, repo: str) -> RepositoryDetails:
        """Id, name, description, URL, stars, forks, default branch, language, topics, dates, visibility.

            details = await gh.get_repository_details_graphql("octocat", "hello-world")
            print(details.stars, details.default_branch, details.topics)
        """
        from .graphql import REPOSITORY_DETAILS_QUERY, RepositoryDetails

        data = await self.graphql(REPOSITORY_DETAILS_QUERY, {"owner": owner, "name": repo})
        return RepositoryDetails.from_data(data)

    # -- batch -----------------------------------------------------------------------------------

    @overload
    async def batch(
        self,
        calls: Iterable[AsyncCall[T]],
        *,
        concurrency: int = 10,
        on_progress: ProgressCallback | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> list[T | Exception]: ...
    @overload
    async def batch(  # calls of several forms or result types in one list
        self,
        calls: Iterable[object],
        *,
        concurrency: int = 10,
        on_progress: ProgressCallback | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> list[Any]: ...
    async def batch(
        self,
        calls: Iterable[Any],
        *,
        concurrency: int = 10,
        on_progress: ProgressCallback | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> list[Any]:
        """Run many calls with at most ``concurrency`` in flight; results in input order, each value or exception.

            results = await gh.batch(
                [(gh.issues.add_labels, {"owner": "o", "repo": "r", "issue_number": n, "labels": ["bug"]})
                 for n in range(1, 501)],
                concurrency=10, on_progress=print,
            )
            failed = {i: r for i, r in enumerate(results) if isinstance(r, Exception)}

        ``calls``: awaitables, ``(method, kwargs)`` pairs or zero-argument callables. Every call goes
        through this client's pipeline: throttling and rate-limit pauses hold the batch, they do not fail
        it. ``fail_fast=True`` cancels the rest after the first failure (their results are
        :class:`~githubapp.batch.BatchCancelledError`). ``on_progress`` gets a
        :class:`~githubapp.batch.BatchProgress` after each call; ``progress=True`` draws a terminal bar
        (extra ``githubapp[progress]``). Cancelling the caller cancels the batch.
        """
        from .batch import run_async

        return await run_async(
            calls, concurrency=concurrency, on_progress=on_progress, fail_fast=fail_fast, progress=progress
        )

    # -- bulk helpers (built on batch) -------------------------------------------------------------

    async def bulk_update_issues(
        self,
        owner: str,
        repo: str,
        numbers: Iterable[int],
        *,
        title: str = UNSET,
        body: str | None = UNSET,
        state: Literal["open", "closed"] = UNSET,
        state_reason: StateReason | None = UNSET,
        assignees: Sequence[str] = UNSET,
        labels: Sequence[str] = UNSET,
        milestone: int | None = UNSET,
        concurrency: int = 10,
        on_progress: ProgressCallback | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> dict[int, IssuesUpdateResponse | Exception]:
        """Apply the same change to many issues (``issues.update``); ``{number: updated issue or exception}``.

            results = await gh.bulk_update_issues("o", "r", [1, 2, 3], milestone=4, assignees=["octocat"])
        """
        fields = _issue_fields(
            {"title": title, "body": body, "state": state, "state_reason": state_reason, "milestone": milestone,
             "assignees": assignees, "labels": labels}
        )
        nums = _issue_numbers(numbers)
        results = await self.batch(
            [(self.issues.update, {"owner": owner, "repo": repo, "issue_number": n, **fields}) for n in nums],
            concurrency=concurrency, on_progress=on_progress, fail_fast=fail_fast, progress=progress,
        )
        return dict(zip(nums, results, strict=True))

    async def bulk_add_labels(
        self,
        owner: str,
        repo: str,
        numbers: Iterable[int],
        labels: Sequence[str],
        *,
        concurrency: int = 10,
        on_progress: ProgressCallback | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> dict[int, list[Label] | Exception]:
        """Add ``labels`` to many issues (``issues.add_labels``); ``{number: the issue's labels or exception}``.

            results = await gh.bulk_add_labels("o", "r", range(1, 501), ["triage"], progress=True)
        """
        names = _labels(labels)
        nums = _issue_numbers(numbers)
        results = await self.batch(
            [(self.issues.add_labels, {"owner": owner, "repo": repo, "issue_number": n, "labels": names}) for n in nums],
            concurrency=concurrency, on_progress=on_progress, fail_fast=fail_fast, progress=progress,
        )
        return dict(zip(nums, results, strict=True))

    async def bulk_close_issues(
        self,
        owner: str,
        repo: str,
        numbers: Iterable[int],
        comment: str | None = None,
        *,
        state_reason: CloseReason | None = UNSET,
        concurrency: int = 10,
        on_progress: ProgressCallback | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> dict[int, IssuesUpdateResponse | Exception]:
        """Close many issues, each after posting ``comment`` when given; ``{number: closed issue or exception}``.

            results = await gh.bulk_close_issues("o", "r", stale, comment="Closing as stale.", state_reason="not_planned")

        When the comment fails, that issue is left open and the comment's error is its result.
        """
        if comment is not None and (not isinstance(comment, str) or not comment.strip()):
            raise ValueError(f"comment must be a non-empty str or None, got {comment!r}")
        nums = _issue_numbers(numbers)

        async def close(number: int) -> IssuesUpdateResponse:
            if comment is not None:
                await self.issues.create_comment(owner, repo, number, body=comment)
            return await self.issues.update(owner, repo, number, state="closed", state_reason=state_reason)

        results = await self.batch(
            [(close, {"number": n}) for n in nums],
            concurrency=concurrency, on_progress=on_progress, fail_fast=fail_fast, progress=progress,
        )
        return dict(zip(nums, results, strict=True))


class SyncGraphQLBatchMethods:
    """GraphQL, ``batch`` and the bulk helpers of the blocking :class:`~githubapp.GitHubClient`."""

    config: ClientConfig
    _pipeline: SyncPipeline

    if TYPE_CHECKING:  # provided by the generated SyncNamespaces the client also inherits

        @cached_property
        def issues(self) -> IssuesApi: ...

    @overload
    def graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, *, operation_name: str | None = None,
        allow_partial: Literal[False] = False,
    ) -> Any: ...
    @overload
    def graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, *, operation_name: str | None = None,
        allow_partial: Literal[True],
    ) -> GraphQLData: ...
    def graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, *, operation_name: str | None = None,
        allow_partial: bool = False,
    ) -> Any:
        """Run a GraphQL query or mutation; returns ``data`` (see :meth:`AsyncGitHubClient.graphql`).

            login = gh.graphql("{ viewer { login } }")["viewer"]["login"]
        """
        from .graphql import graphql_request, graphql_result

        prepared = graphql_request(self.config.base_url, query, variables, operation_name)
        response = self._pipeline.send(prepared)
        return graphql_result(prepared, response.status_code, response.headers, response.content, allow_partial=allow_partial)

    @overload
    def execute_graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, *, operation_name: str | None = None,
        allow_partial: Literal[False] = False,
    ) -> Any: ...
    @overload
    def execute_graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, *, operation_name: str | None = None,
        allow_partial: Literal[True],
    ) -> GraphQLData: ...
    def execute_graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, *, operation_name: str | None = None,
        allow_partial: bool = False,
    ) -> Any:
        """Alias of :meth:`graphql`."""
        return self.graphql(query, variables, operation_name=operation_name, allow_partial=allow_partial)  # type: ignore[call-overload]

    def paginate_graphql(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        path: str = "repository.issues",
        *,
        operation_name: str | None = None,
        max_items: int | None = None,
    ) -> Iterator[Any]:
        """Iterate the nodes of the connection at ``path`` (see :meth:`AsyncGitHubClient.paginate_graphql`).

            for issue in gh.paginate_graphql(query, {"owner": "o", "name": "r"}, path="repository.issues"):
                print(issue["number"])
        """
        from .graphql import GraphQLPageWalker

        walker = GraphQLPageWalker(
            self.config.base_url, query, variables, path, operation_name=operation_name, max_items=max_items
        )
        return self._walk_graphql(walker)

    def _walk_graphql(self, walker: Any) -> Iterator[Any]:
        while walker.request is not None:
            response = self._pipeline.send(walker.request)
            yield from walker.feed(response.content, response.status_code, response.headers)

    def get_repository_details_graphql(self, owner: str, repo: str) -> RepositoryDetails:
        """See :meth:`AsyncGitHubClient.get_repository_details_graphql`."""
        from .graphql import REPOSITORY_DETAILS_QUERY, RepositoryDetails

        return RepositoryDetails.from_data(self.graphql(REPOSITORY_DETAILS_QUERY, {"owner": owner, "name": repo}))

    @overload
    def batch(
        self,
        calls: Iterable[SyncCall[T]],
        *,
        on_progress: ProgressCallback | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> list[T | Exception]: ...
    @overload
    def batch(  # calls of several forms or result types in one list
        self,
        calls: Iterable[object],
        *,
        on_progress: ProgressCallback | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> list[Any]: ...
    def batch(
        self,
        calls: Iterable[Any],
        *,
        on_progress: ProgressCallback | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> list[Any]:
        """Run many blocking calls one after another; results in input order, each value or exception.

            results = gh.batch([(gh.issues.add_labels, {"owner": "o", "repo": "r", "issue_number": n,
                                                        "labels": ["bug"]}) for n in numbers], progress=True)

        Thread-free by design: the calls run sequentially in the calling thread (the pipeline spaces
        writes anyway); for concurrent calls use :meth:`AsyncGitHubClient.batch`. ``calls`` are
        ``(method, kwargs)`` pairs or zero-argument callables; ``fail_fast``, ``on_progress`` and
        ``progress`` work as on the async client. Ctrl-C stops the batch.
        """
        from .batch import run_sync

        return run_sync(calls, on_progress=on_progress, fail_fast=fail_fast, progress=progress)

    def bulk_update_issues(
        self,
        owner: str,
        repo: str,
        numbers: Iterable[int],
        *,
        title: str = UNSET,
        body: str | None = UNSET,
        state: Literal["open", "closed"] = UNSET,
        state_reason: StateReason | None = UNSET,
        assignees: Sequence[str] = UNSET,
        labels: Sequence[str] = UNSET,
        milestone: int | None = UNSET,
        on_progress: ProgressCallback | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> dict[int, IssuesUpdateResponse | Exception]:
        """See :meth:`AsyncGitHubClient.bulk_update_issues` (sequential here)."""
        fields = _issue_fields(
            {"title": title, "body": body, "state": state, "state_reason": state_reason, "milestone": milestone,
             "assignees": assignees, "labels": labels}
        )
        nums = _issue_numbers(numbers)
        results = self.batch(
            [(self.issues.update, {"owner": owner, "repo": repo, "issue_number": n, **fields}) for n in nums],
            on_progress=on_progress, fail_fast=fail_fast, progress=progress,
        )
        return dict(zip(nums, results, strict=True))

    def bulk_add_labels(
        self,
        owner: str,
        repo: str,
        numbers: Iterable[int],
        labels: Sequence[str],
        *,
        on_progress: ProgressCallback | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> dict[int, list[Label] | Exception]:
        """See :meth:`AsyncGitHubClient.bulk_add_labels` (sequential here)."""
        names = _labels(labels)
        nums = _issue_numbers(numbers)
        results = self.batch(
            [(self.issues.add_labels, {"owner": owner, "repo": repo, "issue_number": n, "labels": names}) for n in nums],
            on_progress=on_progress, fail_fast=fail_fast, progress=progress,
        )
        return dict(zip(nums, results, strict=True))

    def bulk_close_issues(
        self,
        owner: str,
        repo: str,
        numbers: Iterable[int],
        comment: str | None = None,
        *,
        state_reason: CloseReason | None = UNSET,
        on_progress: ProgressCallback | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> dict[int, IssuesUpdateResponse | Exception]:
        """See :meth:`AsyncGitHubClient.bulk_close_issues` (sequential here)."""
        if comment is not None and (not isinstance(comment, str) or not comment.strip()):
            raise ValueError(f"comment must be a non-empty str or None, got {comment!r}")
        nums = _issue_numbers(numbers)

        def close(number: int) -> IssuesUpdateResponse:
            if comment is not None:
                self.issues.create_comment(owner, repo, number, body=comment)
            return self.issues.update(owner, repo, number, state="closed", state_reason=state_reason)

        results = self.batch(
            [(close, {"number": n}) for n in nums], on_progress=on_progress, fail_fast=fail_fast, progress=progress
        )
        return dict(zip(nums, results, strict=True))
