"""GraphQL over the same pipeline as REST: request building and response decoding (no I/O here).

    data = await gh.graphql("query($o: String!, $r: String!) { repository(owner: $o, name: $r) { stargazerCount } }",
                            {"o": "octocat", "r": "hello-world"})
    details = await gh.get_repository_details_graphql("octocat", "hello-world")   # -> RepositoryDetails

A response with ``errors`` raises :class:`GraphQLError` carrying ``.errors`` and the partial ``.data``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

from ._operation import PreparedRequest
from .errors import GitHubError

__all__ = ["GraphQLError", "RepositoryDetails", "graphql_url", "graphql_request", "graphql_data", "REPOSITORY_DETAILS_QUERY"]


class GraphQLError(GitHubError):
    """GitHub answered a GraphQL request with ``errors`` (each with ``type``, ``path``, ``message``)."""

    def __init__(self, errors: list[dict[str, Any]], data: Any = None) -> None:
        self.errors = errors
        self.data = data
        messages = "; ".join(str(e.get("message", e)) for e in errors[:3])
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(f"GraphQL error: {messages}{more}")


def graphql_url(base_url: str) -> str:
    """``https://api.github.com`` -> ``.../graphql``; GHES ``https://h/api/v3`` -> ``https://h/api/graphql``."""
    if base_url.endswith("/api/v3"):
        return base_url[: -len("/v3")] + "/graphql"
    return base_url + "/graphql"


def graphql_request(base_url: str, query: str, variables: Mapping[str, Any] | None) -> PreparedRequest:
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"query must be a non-empty GraphQL document, got {query!r}")
    body: dict[str, Any] = {"query": query}
    if variables:
        body["variables"] = dict(variables)
    return PreparedRequest(
        "POST", graphql_url(base_url), (), (("Content-Type", "application/json"),), to_json(body), "graphql"
    )


def graphql_data(content: bytes) -> Any:
    """The ``data`` of a GraphQL response; raises :class:`GraphQLError` when it has ``errors``."""
    payload = json.loads(content)
    if not isinstance(payload, dict):
        raise GraphQLError([{"message": f"unexpected GraphQL response: {payload!r:.200}"}])
    if payload.get("errors"):
        raise GraphQLError(list(payload["errors"]), payload.get("data"))
    return payload.get("data")


REPOSITORY_DETAILS_QUERY = """
query RepositoryDetails($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    id name nameWithOwner description url stargazerCount forkCount visibility createdAt updatedAt
    defaultBranchRef { name }
    primaryLanguage { name }
    repositoryTopics(first: 100) { nodes { topic { name } } }
  }
}
"""


class RepositoryDetails(BaseModel):
    """The repository facts ``get_repository_details_graphql`` returns."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, defer_build=True)

    id: str
    name: str
    full_name: str = Field(alias="nameWithOwner")
    description: str | None = None
    url: str
    stars: int = Field(alias="stargazerCount")
    forks: int = Field(alias="forkCount")
    default_branch: str | None = None
    primary_language: str | None = None
    topics: list[str] = Field(default_factory=list)
    visibility: str
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")

    @classmethod
    def from_data(cls, data: Any) -> RepositoryDetails:
        repo = (data or {}).get("repository")
        if repo is None:
            raise GraphQLError([{"type": "NOT_FOUND", "message": "repository not found"}], data)
        flat = dict(repo)
        flat["default_branch"] = (repo.get("defaultBranchRef") or {}).get("name")
        flat["primary_language"] = (repo.get("primaryLanguage") or {}).get("name")
        flat["topics"] = [n["topic"]["name"] for n in (repo.get("repositoryTopics") or {}).get("nodes") or []]
        return cls.model_validate(flat)
