"""The GraphQL and batch methods of both clients (mixed into ``AsyncGitHubClient`` / ``GitHubClient``).

They send through the client's one pipeline (``self._pipeline.send``), so GraphQL and batched
calls get the same auth, throttling, rate-limit, breaker and retry behaviour as REST calls.
The heavy modules (``graphql``, ``batch``) are imported on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import ClientConfig
    from .graphql import RepositoryDetails
    from .http import AsyncPipeline, SyncPipeline

__all__ = ["AsyncGraphQLBatchMethods", "SyncGraphQLBatchMethods"]


class AsyncGraphQLBatchMethods:
    config: ClientConfig
    _pipeline: AsyncPipeline

    async def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> Any:
        """Run a GraphQL query or mutation through the same pipeline; returns ``data``.

        Raises :class:`~githubapp.graphql.GraphQLError` (``.errors``, partial ``.data``) on errors.
        """
        from .graphql import graphql_data, graphql_request

        response = await self._pipeline.send(graphql_request(self.config.base_url, query, variables))
        return graphql_data(response.content)

    async def execute_graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> Any:
        """Alias of :meth:`graphql`."""
        return await self.graphql(query, variables)

    async def get_repository_details_graphql(self, owner: str, repo: str) -> RepositoryDetails:
        """Id, name, description, URL, stars, forks, default branch, language, topics, dates, visibility."""
        from .graphql import REPOSITORY_DETAILS_QUERY, RepositoryDetails

        data = await self.graphql(REPOSITORY_DETAILS_QUERY, {"owner": owner, "name": repo})
        return RepositoryDetails.from_data(data)


class SyncGraphQLBatchMethods:
    config: ClientConfig
    _pipeline: SyncPipeline

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> Any:
        """Run a GraphQL query or mutation; returns ``data`` (see :meth:`AsyncGitHubClient.graphql`)."""
        from .graphql import graphql_data, graphql_request

        return graphql_data(self._pipeline.send(graphql_request(self.config.base_url, query, variables)).content)

    def execute_graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> Any:
        """Alias of :meth:`graphql`."""
        return self.graphql(query, variables)
