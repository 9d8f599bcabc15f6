"""Installation clients for handlers: one connection pool for every installation, auth swapped.

``ClientFactory`` owns the token provider (cached, single-flight installation tokens), one
``httpx.AsyncClient`` (per event loop) and one ``httpx.Client`` shared by every installation
client it makes, plus the pipeline state (rate limits, cache) they share::

    factory = ClientFactory(app_id, private_key, config=ClientConfig())
    async with factory.async_client(42) as gh:         # or: gh = await factory.async_client(42)
        await gh.issues.create_comment("o", "r", 1, body="Hi")
    await factory.aclose()                              # on shutdown

Closing an installation client never closes the shared pool; :meth:`ClientFactory.aclose` does.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from ..http.transports import async_http_client, sync_http_client

if TYPE_CHECKING:
    from ..auth.app import InstallationTokenProvider
    from ..client import AsyncGitHubClient
    from ..config import ClientConfig
    from ..http.state import PipelineState
    from ..sync import GitHubClient

__all__ = ["AsyncClientContext", "ClientFactory"]


class AsyncClientContext:
    """What ``github_app.async_client()`` returns: awaitable *and* an async context manager.

    ``client = await github_app.async_client()`` gives an :class:`~githubapp.AsyncGitHubClient`
    (close it with ``await client.aclose()``, which leaves the shared pool open);
    ``async with github_app.async_client() as client:`` closes it on exit.
    """

    __slots__ = ("_client", "_make")

    def __init__(self, make: Callable[[], Awaitable[AsyncGitHubClient]]) -> None:
        self._make = make
        self._client: AsyncGitHubClient | None = None

    def __await__(self) -> Generator[Any, None, AsyncGitHubClient]:
        return self._make().__await__()

    async def __aenter__(self) -> AsyncGitHubClient:
        self._client = await self._make()
        return self._client

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


@dataclass(slots=True)
class _AsyncPool:
    loop: asyncio.AbstractEventLoop
    http: httpx.AsyncClient
    state: PipelineState


class ClientFactory:
    """Makes installation clients that share one pool (see the module docstring)."""

    def __init__(self, app_id: int | str, private_key: str | bytes, *, config: ClientConfig) -> None:
        from ..auth.app import InstallationTokenProvider

        self.config = config
        self._sync_http = sync_http_client(config)
        self.tokens: InstallationTokenProvider = InstallationTokenProvider(
            app_id, private_key, base_url=config.base_url, sync_http_client=self._sync_http, config=config
        )
        self._lock = threading.Lock()
        self._async: _AsyncPool | None = None
        self._sync_state: PipelineState | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"ClientFactory(app_id={self.tokens.app_id!r}, base_url={self.config.base_url!r})"

    # -- pools ----------------------------------------------------------------------------------

    def _async_pool(self) -> _AsyncPool:
        from ..http.state import PipelineState

        loop = asyncio.get_running_loop()
        with self._lock:
            pool = self._async
            if pool is None or pool.loop is not loop:
                # a new event loop (a test client, a restart): the old pool's connections died with its loop
                pool = self._async = _AsyncPool(
                    loop, async_http_client(self.config), PipelineState(self.config)
                )
            return pool

    def _sync_pipeline_state(self) -> PipelineState:
        from ..http.state import PipelineState

        with self._lock:
            if self._sync_state is None:
                self._sync_state = PipelineState(self.config)
            return self._sync_state

    # -- clients --------------------------------------------------------------------------------

    def async_client(self, installation_id: int) -> AsyncClientContext:
        """An installation client; the token is fetched (or taken from the cache) when awaited."""

        async def make() -> AsyncGitHubClient:
            from ..client import AsyncGitHubClient

            await self.tokens.get_token(installation_id)  # fail here, clearly, if the app cannot act
            pool = self._async_pool()
            return AsyncGitHubClient(
                config=self.config, auth=self.tokens.auth_for(installation_id), http_client=pool.http, state=pool.state
            )

        return AsyncClientContext(make)

    def sync_client(self, installation_id: int) -> GitHubClient:
        """A blocking installation client on the shared ``httpx.Client`` (token fetched now)."""
        from ..sync import GitHubClient

        self.tokens.get_token_sync(installation_id)
        return GitHubClient(
            config=self.config,
            auth=self.tokens.auth_for(installation_id),
            http_client=self._sync_http,
            state=self._sync_pipeline_state(),
        )

    def app_client(self) -> GitHubClient:
        """A blocking client authenticated as the app itself (JWT), on the shared pool."""
        from ..sync import GitHubClient

        return GitHubClient(config=self.config, auth=self.tokens.app_auth, http_client=self._sync_http)

    # -- shutdown -------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the shared pools and the token provider's own clients."""
        with self._lock:
            pool, self._async = self._async, None
        if pool is not None:
            try:
                same_loop = pool.loop is asyncio.get_running_loop()
            except RuntimeError:
                same_loop = False
            if same_loop:
                await pool.http.aclose()
        await self.tokens.aclose()
        self.close()

    def close(self) -> None:
        """Close the blocking pool (the async pool needs :meth:`aclose`)."""
        self.tokens.close()
        self._sync_http.close()
