"""``GitHubClient``: the same generated surface as :class:`~githubapp.AsyncGitHubClient`, blocking.

    with GitHubClient(token="ghp_...") as gh:
        issue = gh.issues.get("octocat", "hello-world", 1)
        for it in gh.paginate(gh.issues.list_for_repo, owner="o", repo="r"):
            ...

It shares request building, decoding, paging and error decisions with the async client; only the
transport differs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, Unpack, overload

import httpx

from ._graphql_batch_methods import SyncGraphQLBatchMethods
from ._operation import Operation, prepare
from ._shared import decode_response, raw_request, resolve_settings
from .http import SyncPipeline
from .http.transports import sync_http_client
from .pagination import Page, PageWalker, pages, paginate
from .rest import SyncNamespaces

if TYPE_CHECKING:
    from .auth import Auth
    from .config import ClientConfig, ClientSettings
    from .http.state import PipelineState, PipelineStats

__all__ = ["GitHubClient"]

T = TypeVar("T")


class GitHubClient(SyncGraphQLBatchMethods, SyncNamespaces):
    """Blocking GitHub REST client; same arguments as :class:`~githubapp.AsyncGitHubClient`."""

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str | None = None,
        config: ClientConfig | None = None,
        auth: Auth | None = None,
        http_client: httpx.Client | None = None,
        state: PipelineState | None = None,
        **settings: Unpack[ClientSettings],
    ) -> None:
        self.config, self.auth = resolve_settings(token, base_url, config, auth, settings)
        self._owns_http = http_client is None
        self._http = http_client or sync_http_client(self.config)
        self._pipeline = SyncPipeline(self._http, self.auth, self.config, state)

    @property
    def stats(self) -> PipelineStats:
        """What the pipeline did so far: requests, retries, waits, cache and breaker counts."""
        return self._pipeline.state.stats()

    def __repr__(self) -> str:
        return f"GitHubClient(base_url={self.config.base_url!r}, auth={self.auth!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool (only if this client created it)."""
        if self._owns_http:
            self._http.close()

    def _call(self, op: Operation, args: Mapping[str, Any]) -> Any:
        response = self._pipeline.send(prepare(op, args, self.config.base_url))
        return decode_response(op, response, self.config)

    def request(
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
        """Any endpoint, raw (see :meth:`AsyncGitHubClient.request`)."""
        prepared = raw_request(self.config, method, url, params=params, json=json, headers=headers, content=content, fields=fields)
        return self._pipeline.send(prepared)

    @overload
    def paginate(self, method: Callable[..., list[T]], /, *args: Any, max_items: int | None = None, **kwargs: Any) -> Iterator[T]: ...
    @overload
    def paginate(self, method: Callable[..., Any], /, *args: Any, max_items: int | None = None, **kwargs: Any) -> Iterator[Any]: ...
    def paginate(self, method: Callable[..., Any], /, *args: Any, max_items: int | None = None, **kwargs: Any) -> Iterator[Any]:
        """Iterate the items of every page of a list operation, following ``Link: rel="next"``."""
        return paginate(self, PageWalker(self.config, method, args, kwargs, max_items))

    @overload
    def paginate_pages(self, method: Callable[..., list[T]], /, *args: Any, max_items: int | None = None, **kwargs: Any) -> Iterator[Page[T]]: ...
    @overload
    def paginate_pages(self, method: Callable[..., Any], /, *args: Any, max_items: int | None = None, **kwargs: Any) -> Iterator[Page[Any]]: ...
    def paginate_pages(self, method: Callable[..., Any], /, *args: Any, max_items: int | None = None, **kwargs: Any) -> Iterator[Page[Any]]:
        """Like :meth:`paginate`, one :class:`~githubapp.pagination.Page` at a time."""
        return pages(self, PageWalker(self.config, method, args, kwargs, max_items))
