"""The one request pipeline, assembled here, for the async and the blocking client.

Order of stages (today): headers -> auth -> transport -> classify. The retry, rate-limit,
throttle, circuit-breaker and cache stages slot in around ``transport`` in this file; the
decisions stay plain functions in ``githubapp.errors`` / sibling modules so both pipelines share them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import httpx

from ..errors import TransportError, error_for_response

if TYPE_CHECKING:
    from .._operation import PreparedRequest
    from ..auth import Auth
    from ..config import ClientConfig

__all__ = ["AsyncPipeline", "SyncPipeline", "client_options", "default_headers", "build_httpx_request", "limits"]

logger = logging.getLogger("githubapp")


def default_headers(config: ClientConfig) -> dict[str, str]:
    return {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": config.api_version,
        "User-Agent": config.user_agent,
    }


def client_options(config: ClientConfig) -> dict[str, Any]:
    """The httpx client settings both clients use: headers, timeout, pool, redirects."""
    return {
        "headers": default_headers(config),
        "timeout": httpx.Timeout(config.timeout),
        "limits": limits(config),
        "follow_redirects": True,
    }


def limits(config: ClientConfig) -> httpx.Limits:
    return httpx.Limits(
        max_connections=config.pool_size,
        max_keepalive_connections=config.pool_size,
        keepalive_expiry=config.keepalive_expiry,
    )


def build_httpx_request(
    client: httpx.AsyncClient | httpx.Client, prepared: PreparedRequest, auth: Auth | None
) -> httpx.Request:
    """Stage *headers* + *auth*: the httpx request for ``prepared`` (auth is added last, here only)."""
    headers = dict(prepared.headers)
    if auth is not None:
        headers["Authorization"] = auth.authorization()
    url = httpx.URL(prepared.url)
    if not prepared.params:  # the URL keeps its own query (pagination links carry theirs)
        return client.build_request(prepared.method, url, headers=headers, content=prepared.content)
    # httpx would replace the URL's query with `params`: send both
    params: list[tuple[str, str | int | float | bool | None]] = [*url.params.multi_items(), *prepared.params]
    return client.build_request(
        prepared.method, url.copy_with(query=None), params=params, headers=headers, content=prepared.content
    )


def classify(prepared: PreparedRequest, response: httpx.Response) -> httpx.Response:
    """Stage *classify*: a 2xx/3xx passes, an error status becomes its exception."""
    if response.status_code >= 400:
        raise error_for_response(
            prepared.method, str(response.request.url), response.status_code, response.headers, response.content
        )
    return response


def transport_error(prepared: PreparedRequest, exc: httpx.HTTPError) -> TransportError:
    kind = type(exc).__name__
    return TransportError(f"{kind}: {exc}" if str(exc) else kind, method=prepared.method, url=prepared.url)


class AsyncPipeline:
    """Sends prepared requests through the stages with an :class:`httpx.AsyncClient`."""

    def __init__(self, http: httpx.AsyncClient, auth: Auth | None) -> None:
        self.http = http
        self.auth = auth

    async def send(self, prepared: PreparedRequest) -> httpx.Response:
        request = build_httpx_request(self.http, prepared, self.auth)
        logger.debug("%s %s", prepared.method, request.url)
        try:
            response = await self.http.send(request)
            await response.aread()
        except httpx.HTTPError as exc:
            raise transport_error(prepared, exc) from exc
        return classify(prepared, response)


class SyncPipeline:
    """The same stages, blocking, with an :class:`httpx.Client`."""

    def __init__(self, http: httpx.Client, auth: Auth | None) -> None:
        self.http = http
        self.auth = auth

    def send(self, prepared: PreparedRequest) -> httpx.Response:
        request = build_httpx_request(self.http, prepared, self.auth)
        logger.debug("%s %s", prepared.method, request.url)
        try:
            response = self.http.send(request)
            response.read()
        except httpx.HTTPError as exc:
            raise transport_error(prepared, exc) from exc
        return classify(prepared, response)
