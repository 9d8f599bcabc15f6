"""Following ``Link: rel="next"`` through paginated list operations, async and blocking.

    async for issue in gh.paginate(gh.issues.list_for_repo, owner="o", repo="r", per_page=100):
        print(issue.number)                       # typed Issue items, across pages
    async for page in gh.paginate_pages(gh.search.issues_and_pull_requests, q="is:open"):
        print(page.number, len(page.items), page.value.total_count)   # one Page per response

Lists wrapped in an object (``{"total_count": n, "workflow_runs": [...]}``) are unwrapped with the
key the generator found in the spec. ``max_items`` stops early, without fetching further pages.
The walk itself (:class:`PageWalker`) does no I/O, so both clients drive the same logic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx

from ._shared import call_request, decode_response, next_link, next_request, page_items
from .errors import GitHubError

if TYPE_CHECKING:
    from ._operation import PreparedRequest
    from .client import AsyncGitHubClient
    from .config import ClientConfig
    from .sync import GitHubClient

__all__ = ["Page", "PageWalker", "apaginate", "paginate", "apages", "pages"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a paginated list: its typed ``items``, the decoded ``value`` (the wrapper object
    for ``{"total_count", "items"}`` answers, else the list) and the raw ``response``."""

    number: int
    items: list[T]
    value: Any
    response: httpx.Response


class PageWalker:
    """Sans-I/O pagination: ``request`` is the next request to send (``None`` when done)."""

    def __init__(self, config: ClientConfig, method: Any, args: tuple[Any, ...], kwargs: dict[str, Any], max_items: int | None) -> None:
        if max_items is not None and (isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 0):
            raise ValueError(f"max_items must be a non-negative int or None, got {max_items!r}")
        self.config = config
        self.op, first = call_request(method, args, kwargs, config.base_url)
        if self.op.list_key is None and not self.op.return_expression(200).startswith("list["):
            raise TypeError(f"{self.op.operation_id} does not return a list; it cannot be paginated")
        self.request: PreparedRequest | None = first if max_items != 0 else None
        self.remaining = max_items
        self.pages = 0
        self._seen: set[str] = set()

    def feed(self, response: httpx.Response) -> Page[Any]:
        """One page response, its items trimmed to ``max_items``; sets up the next request."""
        assert self.request is not None
        value = decode_response(self.op, response, self.config)
        items = page_items(self.op, value)
        self.pages += 1
        if self.remaining is not None:
            items = items[: self.remaining]
            self.remaining -= len(items)
        self._seen.add(str(response.request.url))
        url = next_link(response.headers, self.config.base_url)
        if url is not None and str(httpx.URL(url)) in self._seen:
            raise GitHubError(f"{self.op.operation_id}: the next-page link {url} was already fetched; stopping")
        done = url is None or self.remaining == 0
        self.request = None if done else next_request(self.request, url)  # type: ignore[arg-type]
        return Page(self.pages, items, value, response)


async def apages(client: AsyncGitHubClient, walker: PageWalker) -> AsyncIterator[Page[Any]]:
    while walker.request is not None:
        yield walker.feed(await client._pipeline.send(walker.request))


async def apaginate(client: AsyncGitHubClient, walker: PageWalker) -> AsyncIterator[Any]:
    async for page in apages(client, walker):
        for item in page.items:
            yield item


def pages(client: GitHubClient, walker: PageWalker) -> Iterator[Page[Any]]:
    while walker.request is not None:
        yield walker.feed(client._pipeline.send(walker.request))


def paginate(client: GitHubClient, walker: PageWalker) -> Iterator[Any]:
    for page in pages(client, walker):
        yield from page.items
