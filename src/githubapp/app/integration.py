"""FastAPI/Starlette glue: mount the webhook endpoint, chain the lifespan, the OAuth2 routes.

Imported only by :meth:`GitHubApp.init_app` (FastAPI is an optional extra: ``githubapp[fastapi]``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from .oauth import GitHubOAuth2, SessionManager

__all__ = ["current_user", "install_lifespan", "current_user_dependency", "oauth_router", "webhook_router"]

LOG = logging.getLogger("githubapp.app")

ASGIApp = Callable[..., Awaitable[None]]


def webhook_router(path: str, endpoint: ASGIApp) -> APIRouter:
    """An :class:`APIRouter` holding the ``POST`` webhook route (0.2.7's ``github_app.router``)."""
    from starlette.routing import Route

    router = APIRouter()
    # not a function: Starlette calls it as a raw ASGI app (streamed body, own responses)
    router.routes.append(Route(path, endpoint, methods=["POST"], name="github_webhook", include_in_schema=False))
    return router


def current_user_dependency(sessions: Callable[[], SessionManager | None]) -> Callable[[Request], dict[str, Any]]:
    """``github_app.get_current_user``: usable directly and as ``Depends(github_app.get_current_user)``."""

    def get_current_user(request: Request) -> dict[str, Any]:
        return current_user(sessions(), request)

    return get_current_user


def install_lifespan(
    app: FastAPI, startup: Callable[[], Awaitable[None]], shutdown: Callable[[], Awaitable[None]]
) -> None:
    """Run ``startup``/``shutdown`` inside the app's own lifespan (kept, not replaced).

    The app's resources are up before the task manager starts and still up while it drains.
    """
    existing = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(asgi_app: Any) -> AsyncIterator[Any]:
        async with existing(asgi_app) as state:
            await startup()
            try:
                yield state
            finally:
                await shutdown()

    app.router.lifespan_context = lifespan


def current_user(sessions: SessionManager | None, request: Request) -> dict[str, Any]:
    """The session claims of ``request`` or ``HTTPException(401)`` (``get_current_user``)."""
    import jwt

    if sessions is None:
        raise HTTPException(status_code=401, detail="OAuth2 not configured")
    auth = request.headers.get("Authorization", "")
    token = auth.split(" ", 1)[1].strip() if auth.lower().startswith("bearer ") else None
    token = token or request.cookies.get("session_token")
    if not token:
        raise HTTPException(status_code=401, detail="Missing session token")
    try:
        return sessions.verify_session_token(token)
    except jwt.PyJWTError as exc:
        raise HTTPException(status_code=401, detail=f"Invalid session token ({type(exc).__name__})") from None


def oauth_router(
    oauth: GitHubOAuth2, sessions: SessionManager, get_current_user: Callable[[Request], dict[str, Any]]
) -> APIRouter:
    """The OAuth2 routes (mounted under the prefix by ``init_app``)."""
    import httpx

    router = APIRouter()

    def user_dependency(request: Request) -> dict[str, Any]:
        return get_current_user(request)

    async def oauth_login(redirect_to: str | None = None, scopes: str | None = None) -> JSONResponse:
        scope_list = [s.strip() for s in scopes.split(",") if s.strip()] if scopes else None
        return JSONResponse({"auth_url": oauth.generate_auth_url(scopes=scope_list)})

    async def oauth_callback(
        code: str | None = None, state: str | None = None, error: str | None = None
    ) -> JSONResponse:
        if error:
            raise HTTPException(status_code=400, detail=f"OAuth error: {error}")
        if not code:
            raise HTTPException(status_code=400, detail="Missing authorization code")
        if not state:
            raise HTTPException(status_code=400, detail="Missing OAuth2 state parameter")
        try:
            token = await oauth.exchange_code_for_token(code, state)
            user = await oauth.get_user_info(token["access_token"])
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        except (RuntimeError, KeyError, httpx.HTTPError) as exc:
            LOG.warning("OAuth2 callback failed: %s", exc)
            raise HTTPException(status_code=500, detail=str(exc)) from None
        return JSONResponse({"user": user, "session_token": sessions.create_session_token(user)})

    async def oauth_logout() -> dict[str, str]:
        return {"status": "logged_out"}

    async def oauth_user(current: dict[str, Any] = Depends(user_dependency)) -> dict[str, Any]:  # noqa: B008
        return current

    router.add_api_route("/login", oauth_login, methods=["GET"])
    router.add_api_route("/callback", oauth_callback, methods=["GET"])
    router.add_api_route("/logout", oauth_logout, methods=["POST"])
    router.add_api_route("/user", oauth_user, methods=["GET"])
    return router
