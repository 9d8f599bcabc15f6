"""Following ``Link: rel="next"`` through paginated list operations, async and blocking.

    async for issue in gh.paginate(gh.issues.list_for_repo, owner="o", repo="r", per_page=100):
        print(issue.number)                       # typed Issue items, across pages

Lists wrapped in an object (``{"total_count": n, "workflow_runs": [...]}``) are unwrapped with the
key the generator found in the spec. ``max_items`` stops early, without fetching further pages.
The walk itself (:class:`PageWalker`) does no I/O, so both clients drive the same logic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from ._shared import call_request, decode_response, next_link, next_request, page_items

if TYPE_CHECKING:
    import httpx

    from ._operation import PreparedRequest
    from .client import AsyncGitHubClient
    from .config import ClientConfig
    from .sync import GitHubClient

__all__ = ["PageWalker", "apaginate", "paginate"]


class PageWalker:
    """Sans-I/O pagination: ``request`` is the next request to send (``None`` when done)."""

    def __init__(self, config: ClientConfig, method: Any, args: tuple[Any, ...], kwargs: dict[str, Any], max_items: int | None) -> None:
        if max_items is not None and (isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 0):
            raise ValueError(f"max_items must be a non-negative int or None, got {max_items!r}")
        self.config = config
        self.op, first = call_request(method, args, kwargs, config.base_url)
        self.request: PreparedRequest | None = first if max_items != 0 else None
        self.remaining = max_items
        self.pages = 0

    def feed(self, response: httpx.Response) -> list[Any]:
        """Items of one page response (trimmed to ``max_items``); sets up the next request."""
        assert self.request is not None
        items = page_items(self.op, decode_response(self.op, response, self.config))
        self.pages += 1
        if self.remaining is not None:
            items = items[: self.remaining]
            self.remaining -= len(items)
        url = next_link(response.headers, self.config.base_url)
        done = url is None or self.remaining == 0
        self.request = None if done else next_request(self.request, url)  # type: ignore[arg-type]
        return items


async def apaginate(client: AsyncGitHubClient, walker: PageWalker) -> AsyncIterator[Any]:
    while walker.request is not None:
        for item in walker.feed(await client._pipeline.send(walker.request)):
            yield item


def paginate(client: GitHubClient, walker: PageWalker) -> Iterator[Any]:
    while walker.request is not None:
        yield from walker.feed(client._pipeline.send(walker.request))
