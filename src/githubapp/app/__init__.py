"""The GitHub App framework: webhooks in, verified, routed to handlers, optionally in the background.

Inside FastAPI (the 0.2.7 way, still supported)::

    from fastapi import FastAPI
    from githubapp import GitHubApp
    from githubapp.webhooks import IssuesOpened

    app = FastAPI()
    GitHubApp.load_env(app)                     # GITHUBAPP_ID, GITHUBAPP_PRIVATE_KEY, GITHUBAPP_WEBHOOK_SECRET, ...
    github_app = GitHubApp(app)                 # POST /webhooks/github/

    @github_app.on("issues.opened", background=True)      # answered 202 at once, run as a task
    async def welcome(event: IssuesOpened) -> None:
        async with github_app.async_client() as gh:      # authenticated as the delivery's installation
            await gh.issues.create_comment(
                event.repository.owner.login, event.repository.name, event.issue.number, body="Thanks!"
            )

Or as a plain ASGI app, without FastAPI: ``uvicorn module:github_app`` (or ``github_app.asgi_app()``).

``github_app.payload`` / ``.event`` / ``.delivery_id`` belong to the delivery being handled (a
``ContextVar``), also in sync handlers (run in threads) and background tasks.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast, overload

from .clients import AsyncClientContext, ClientFactory
from .config import DEFAULT_OAUTH_PREFIX, DEFAULT_ROUTE, AppSettings, load_env, normalize_private_key
from .context import Delivery, current_delivery, set_delivery
from .deliveries import DeliveryLog
from .dispatch import STATUS_DUPLICATE, STATUS_FUNC_CALLED, STATUS_NO_FUNC_CALLED, Dispatcher
from .routing import Handler, HandlerRegistry
from .tasks import TaskInfo, TaskManager, TaskQueueFull, TaskState
from .verify import WebhookSecretMissing, sign, webhook_secrets
from .webhook import Receive, Scope, Send, WebhookEndpoint, send_json

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI, Request

    from ..config import ClientConfig
    from ..core import InstallationAuthorization
    from ..sync import GitHubClient
    from .oauth import GitHubOAuth2, SessionManager

__all__ = [
    "GitHubApp",
    "Delivery",
    "Handler",
    "TaskInfo",
    "TaskManager",
    "TaskQueueFull",
    "TaskState",
    "AsyncClientContext",
    "AppSettings",
    "WebhookSecretMissing",
    "STATUS_FUNC_CALLED",
    "STATUS_NO_FUNC_CALLED",
    "STATUS_DUPLICATE",
    "sign",
]

LOG = logging.getLogger("githubapp.app")

F = TypeVar("F", bound=Callable[..., Any])

_DEFAULT_API_URL = "https://api.github.com"


class GitHubApp:
    """A GitHub App: webhook endpoint, handler registry, installation clients, background tasks.

    Keyword arguments (all optional; each also readable from ``app.config`` / the environment):
    ``github_app_id`` (``GITHUBAPP_ID``), ``github_app_key`` (``GITHUBAPP_PRIVATE_KEY``, PEM),
    ``github_app_secret`` (``GITHUBAPP_WEBHOOK_SECRET``; a list for rotation; ``False`` disables
    verification, a missing secret rejects every delivery), ``github_app_url``
    (``GITHUBAPP_URL``, GitHub Enterprise), ``github_app_route`` (``GITHUBAPP_WEBHOOK_PATH``),
    the ``oauth_*`` settings (``GITHUBAPP_OAUTH_*``) and the 0.2.7 rate-limit retry settings
    used by :meth:`retry_with_rate_limit`.

    Passing a FastAPI ``app`` wires the webhook route at once (same as :meth:`init_app`).
    """

    #: ``client()`` itself honours :func:`~githubapp.with_rate_limit_handling` (per context).
    rate_limit_context_aware: ClassVar[bool] = True

    def __init__(
        self,
        app: FastAPI | None = None,
        *,
        github_app_id: int | None = None,
        github_app_key: bytes | str | None = None,
        github_app_secret: bytes | str | list[bytes | str] | bool | None = None,
        github_app_url: str | None = None,
        github_app_route: str | None = DEFAULT_ROUTE,
        oauth_client_id: str | None = None,
        oauth_client_secret: str | None = None,
        oauth_redirect_uri: str | None = None,
        oauth_scopes: list[str] | None = None,
        oauth_routes_prefix: str = DEFAULT_OAUTH_PREFIX,
        enable_oauth: bool | None = None,
        oauth_session_secret: str | None = None,
        rate_limit_retries: int = 2,
        rate_limit_max_sleep: int = 60,
    ) -> None:
        self._registry = HandlerRegistry()
        #: 0.2.7: ``{"issues.opened": [handler, ...]}``
        self._hook_mappings = self._registry.mappings
        self.base_url = (github_app_url or _DEFAULT_API_URL).rstrip("/")
        self.id = github_app_id
        self.key = github_app_key
        self.secret = github_app_secret
        self.config: MutableMapping[str, Any] = {}
        self._apply_constructor_config(self.config)
        self._initialized = False
        self._webhook_route = github_app_route or DEFAULT_ROUTE
        self._route_given = bool(github_app_route) and github_app_route != DEFAULT_ROUTE
        # OAuth2 (0.2.7 attribute names)
        self.oauth: GitHubOAuth2 | None = None
        self._enable_oauth = False
        self._oauth_routes_prefix = oauth_routes_prefix
        self._session_mgr: SessionManager | None = None
        self._oauth_client_id = oauth_client_id
        self._oauth_client_secret = oauth_client_secret
        self._oauth_redirect_uri = oauth_redirect_uri
        self._oauth_scopes = oauth_scopes
        self._oauth_session_secret = oauth_session_secret
        self._enable_oauth_param = enable_oauth
        self._rate_limit_retries = max(0, rate_limit_retries if rate_limit_retries is not None else 2)
        self._rate_limit_max_sleep = max(0, rate_limit_max_sleep or 60)
        # lazily built from the config
        self._settings: AppSettings | None = None
        self._tasks: TaskManager | None = None
        self._deliveries: DeliveryLog | None = None
        self._clients: ClientFactory | None = None
        self._router: APIRouter | None = None
        self._asgi: _ASGIApp | None = None
        self._warned_unverified = False
        self._dispatcher = Dispatcher(self._registry, lambda: self.task_manager, self._delivery_log)
        self._endpoint = WebhookEndpoint(
            secrets=self._webhook_secrets,
            dispatch=self._dispatcher,
            max_body_bytes=lambda: self.settings.max_body_bytes,
        )
        if app is not None:
            self.init_app(app, route=github_app_route)

    def __repr__(self) -> str:
        return f"GitHubApp(id={self._app_id()!r}, base_url={self.base_url!r}, route={self._webhook_route!r})"

    # -- configuration --------------------------------------------------------------------------

    @staticmethod
    def load_env(app: Any) -> None:
        """Copy ``GITHUBAPP_*`` environment variables into ``app.config`` (keys already set win).

        ``app`` is a FastAPI app (``app.config`` is created when missing), a :class:`GitHubApp`
        or a plain mapping.
        """
        if isinstance(app, MutableMapping):
            load_env(app)
            return
        if getattr(app, "config", None) is None:
            app.config = {}
        load_env(app.config)

    def _apply_constructor_config(self, config: MutableMapping[str, Any]) -> None:
        if self.id is not None:
            config["GITHUBAPP_ID"] = self.id
        if self.key is not None:
            config["GITHUBAPP_PRIVATE_KEY"] = self.key
        if self.secret is not None:
            config["GITHUBAPP_WEBHOOK_SECRET"] = self.secret

    def init_app(self, app: FastAPI, *, route: str | None = None) -> None:
        """Mount the webhook route (and the OAuth2 routes when configured) on a FastAPI app.

        The route is ``route``, else ``github_app_route`` when given, else the
        ``GITHUBAPP_WEBHOOK_PATH`` config key, else ``/webhooks/github/``. ``app.config`` is
        created when missing and receives the constructor's credentials. A second call does nothing.
        """
        if self._initialized:
            LOG.debug("GitHubApp.init_app called more than once; ignoring subsequent call")
            return
        from .integration import install_lifespan

        if getattr(app, "config", None) is None:
            app.config = {}  # type: ignore[attr-defined]
        config: MutableMapping[str, Any] = app.config  # type: ignore[attr-defined]
        for key, value in self.config.items():
            config.setdefault(key, value)
        self._apply_constructor_config(config)
        self.config = config
        self._settings = None
        if config.get("GITHUBAPP_URL"):
            self.base_url = str(config["GITHUBAPP_URL"]).rstrip("/")
        self._webhook_route = self._resolve_route(route)
        app.include_router(self.router)
        self._setup_oauth(app)
        install_lifespan(app, self.startup, self.shutdown)
        self._initialized = True

    def _resolve_route(self, route: str | None) -> str:
        if route and route != DEFAULT_ROUTE:
            chosen = route
        elif self._route_given:
            chosen = self._webhook_route
        else:
            chosen = str(self.config.get("GITHUBAPP_WEBHOOK_PATH") or DEFAULT_ROUTE)
        if not chosen.startswith("/"):
            raise ValueError(f"webhook route must start with '/', got {chosen!r}")
        return chosen

    def _setup_oauth(self, app: FastAPI) -> None:
        cfg = self.config
        client_id = self._oauth_client_id or cfg.get("GITHUBAPP_OAUTH_CLIENT_ID")
        client_secret = self._oauth_client_secret or cfg.get("GITHUBAPP_OAUTH_CLIENT_SECRET")
        session_secret = self._oauth_session_secret or cfg.get("GITHUBAPP_OAUTH_SESSION_SECRET")
        redirect_uri = self._oauth_redirect_uri or cfg.get("GITHUBAPP_OAUTH_REDIRECT_URI")
        scopes = self._oauth_scopes or cfg.get("GITHUBAPP_OAUTH_SCOPES")
        enable = self._enable_oauth_param
        if enable is None:
            enable = bool(cfg.get("GITHUBAPP_ENABLE_OAUTH", True))
        prefix = self._oauth_routes_prefix or cfg.get("GITHUBAPP_OAUTH_ROUTES_PREFIX") or DEFAULT_OAUTH_PREFIX
        if not (client_id and client_secret):
            return
        from .oauth import GitHubOAuth2, SessionManager

        self.oauth = GitHubOAuth2(
            client_id=client_id, client_secret=client_secret, redirect_uri=redirect_uri, scopes=scopes
        )
        self._enable_oauth = enable
        self._oauth_routes_prefix = prefix
        if session_secret:
            self._session_mgr = SessionManager(session_secret)
        if self._enable_oauth and self._session_mgr is not None:
            from .integration import oauth_router

            router = oauth_router(self.oauth, self._session_mgr, self.get_current_user)
            app.include_router(router, prefix=prefix, tags=["oauth2"])
        elif self._enable_oauth:
            LOG.warning("OAuth2 routes not mounted: GITHUBAPP_OAUTH_SESSION_SECRET is not configured")

    @property
    def settings(self) -> AppSettings:
        """Framework settings read from the config (``GITHUBAPP_MAX_WORKERS``, ...)."""
        if self._settings is None:
            self._settings = AppSettings.from_mapping(self.config)
        return self._settings

    def _app_id(self) -> Any:
        return self.id if self.id is not None else self.config.get("GITHUBAPP_ID")

    def _private_key(self) -> Any:
        return self.key if self.key is not None else self.config.get("GITHUBAPP_PRIVATE_KEY")

    def _webhook_secrets(self) -> tuple[bytes, ...] | None:
        value = self.config.get("GITHUBAPP_WEBHOOK_SECRET", self.secret)
        secrets = webhook_secrets(value)
        if secrets is None and not self._warned_unverified:
            self._warned_unverified = True
            LOG.warning(
                "webhook signature verification is DISABLED (github_app_secret=False); do not do this in production"
            )
        return secrets

    def _check_secret(self) -> None:
        try:
            self._webhook_secrets()
        except WebhookSecretMissing as exc:
            LOG.error("%s", exc)

    # -- mounting -------------------------------------------------------------------------------

    @property
    def router(self) -> APIRouter:
        """The FastAPI router holding the webhook route (mounted by :meth:`init_app`)."""
        if self._router is None:
            from .integration import webhook_router

            self._router = webhook_router(self._webhook_route, self._endpoint)
        return self._router

    def asgi_app(self) -> _ASGIApp:
        """This app as a plain ASGI application (no FastAPI needed): the webhook route + lifespan."""
        if self._asgi is None:
            if not self._initialized:
                self._webhook_route = self._resolve_route(None)
            self._asgi = _ASGIApp(self)
        return self._asgi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``uvicorn module:github_app`` serves the plain ASGI app."""
        await self.asgi_app()(scope, receive, send)

    async def startup(self) -> None:
        """Application startup (called by the lifespan): accept background tasks."""
        self._check_secret()
        self.task_manager.start()

    async def shutdown(self) -> None:
        """Application shutdown: drain background tasks, then close the shared HTTP pools."""
        if self._tasks is not None:
            await self._tasks.shutdown(self.settings.shutdown_timeout)
        clients, self._clients = self._clients, None
        if clients is not None:
            await clients.aclose()
        if self.oauth is not None:
            await self.oauth.aclose()

    # -- handlers -------------------------------------------------------------------------------

    @overload
    def on(self, event_action: str) -> Callable[[F], F]: ...
    @overload
    def on(
        self, event_action: str, *, background: bool = ..., timeout: float | None = ..., retries: int | None = ...
    ) -> Callable[[F], F]: ...
    def on(
        self, event_action: str, *, background: bool = False, timeout: float | None = None, retries: int | None = None
    ) -> Callable[[F], F]:
        """Register the decorated function for ``"event"`` or ``"event.action"``; returns it unchanged.

        The function takes no argument, or one: annotated with a webhook model (``event:
        IssuesOpened``) it gets the typed event, else the payload ``dict``. Sync functions run in a
        worker thread. ``background=True`` answers 202 at once and runs the handler as a tracked
        task (``timeout=`` seconds per attempt, ``retries=`` extra attempts with backoff).
        """

        def decorator(f: F) -> F:
            self._registry.add(event_action, f, background=background, timeout=timeout, retries=retries)
            return f

        return decorator

    # -- the current delivery -------------------------------------------------------------------

    def _delivery(self, name: str) -> Delivery:
        delivery = current_delivery()
        if delivery is None:
            raise AttributeError(f"github_app.{name} is only available while a webhook delivery is handled")
        return delivery

    @property
    def payload(self) -> dict[str, Any]:
        """The JSON payload of the delivery being handled (per delivery, never shared)."""
        return self._delivery("payload").payload

    @payload.setter
    def payload(self, value: dict[str, Any]) -> None:
        delivery = current_delivery()
        set_delivery(delivery.with_payload(value) if delivery is not None else Delivery("", value))

    @property
    def event(self) -> str:
        """The ``X-GitHub-Event`` of the delivery being handled."""
        return self._delivery("event").event

    @property
    def delivery_id(self) -> str | None:
        """The ``X-GitHub-Delivery`` id of the delivery being handled."""
        return self._delivery("delivery_id").delivery_id

    def _installation_id(self, installation_id: int | None) -> int:
        if installation_id is not None:
            return installation_id
        delivery = current_delivery()
        found = delivery.installation_id if delivery is not None else None
        if found is None:
            from ..core import GitHubAppError

            where = (
                "this delivery has no installation" if delivery is not None else "no webhook delivery is being handled"
            )
            raise GitHubAppError(
                message=f"Missing installation id; provide installation_id or call within a webhook context ({where})",
                status=400,
            )
        return found

    # -- clients --------------------------------------------------------------------------------

    def _client_config(self) -> ClientConfig:
        from ..config import ClientConfig

        return ClientConfig.from_mapping(self.config, base_url=self.base_url)

    @property
    def clients(self) -> ClientFactory:
        """The installation client factory (shared pools, token cache)."""
        if self._clients is None:
            app_id, key = self._app_id(), self._private_key()
            if app_id is None or key is None:
                from ..core import GitHubAppError

                missing = (
                    "GitHub App ID (github_app_id / GITHUBAPP_ID)"
                    if app_id is None
                    else ("private key (github_app_key / GITHUBAPP_PRIVATE_KEY)")
                )
                raise GitHubAppError(message=f"{missing} is not configured; cannot authenticate as the app.")
            self._clients = ClientFactory(app_id, normalize_private_key(key), config=self._client_config())
        return self._clients

    def async_client(self, installation_id: int | None = None) -> AsyncClientContext:
        """An :class:`~githubapp.AsyncGitHubClient` acting as the installation (the delivery's by default).

        Both ``client = await github_app.async_client()`` and
        ``async with github_app.async_client() as client:`` work; all clients share one pool.
        """
        return self.clients.async_client(self._installation_id(installation_id))

    def client(self, installation_id: int | None = None) -> GitHubClient:
        """Deprecated: a blocking :class:`~githubapp.GitHubClient` acting as the installation.

        Same call style as 0.2.7's GhApi (``client.issues.create_comment(owner=..., repo=...,
        issue_number=..., body=...)``). Prefer :meth:`async_client`.
        """
        warnings.warn(
            "github_app.client() is deprecated; use `async with github_app.async_client() as client:`",
            DeprecationWarning,
            stacklevel=2,
        )
        installation = self._installation_id(installation_id)
        with _compat_errors("Failed to create installation access token"):
            client = self.clients.sync_client(installation)
        from ..core import RateLimitedGhApi, rate_limit_handling_active

        if rate_limit_handling_active() is not None:  # inside a @with_rate_limit_handling handler
            return cast("GitHubClient", RateLimitedGhApi(client, self))
        return client

    def get_client(self, installation_id: int | None = None) -> GitHubClient:
        """Deprecated alias of :meth:`client`."""
        warnings.warn(
            "github_app.get_client() is deprecated; use `async with github_app.async_client() as client:`",
            DeprecationWarning,
            stacklevel=2,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return self.client(installation_id)

    @property
    def installation_token(self) -> str | None:
        """The cached token of the current delivery's installation (``None`` if none is cached)."""
        delivery = current_delivery()
        if delivery is None or delivery.installation_id is None or self._clients is None:
            return None
        token = self._clients.tokens.cached(delivery.installation_id)
        return token.token if token is not None else None

    def get_access_token(self, installation_id: int, user_id: int | None = None) -> InstallationAuthorization:
        """The installation's access token (cached, refreshed before expiry); blocking."""
        from ..core import InstallationAuthorization

        _warn_user_id(user_id)
        with _compat_errors("Failed to create installation access token"):
            token = self.clients.tokens.get_token_sync(installation_id)
        return InstallationAuthorization(token=token.token, expires_at=_iso(token.expires_at))

    async def async_get_access_token(
        self, installation_id: int, user_id: int | None = None
    ) -> InstallationAuthorization:
        """Async :meth:`get_access_token`."""
        from ..core import InstallationAuthorization

        _warn_user_id(user_id)
        with _compat_errors("Failed to create installation access token"):
            token = await self.clients.tokens.get_token(installation_id)
        return InstallationAuthorization(token=token.token, expires_at=_iso(token.expires_at))

    def list_installations(self, per_page: int = 30, page: int = 1) -> Any:
        """``GET /app/installations`` as the app (JWT): a list of installation dicts; blocking."""
        with _compat_errors("Failed to list installations"):
            client = self.clients.app_client()
            response = client.request("GET", "/app/installations", params={"page": page, "per_page": per_page})
        return response.json()

    def _create_jwt(self, expiration: int = 60) -> str:
        """The app's JWT (RS256, ``iat`` -60 s, ``exp`` +540 s, reused until 60 s before expiry).

        ``expiration`` is accepted for 0.2.7 compatibility and ignored.
        """
        return self.clients.tokens.app_auth.jwt.token()

    # -- 0.2.7 rate-limit helpers ---------------------------------------------------------------

    def retry_with_rate_limit(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``func``; on a rate-limit error sleep as GitHub asks and retry (0.2.7 helper).

        Up to ``rate_limit_retries`` retries, each wait at most ``rate_limit_max_sleep`` seconds,
        else :class:`~githubapp.core.GitHubRateLimitError`. The clients' own pipeline already
        waits for rate limits; this is for other callables. An async ``func`` gives a coroutine.
        """
        from ..core import RateLimitRetry

        return RateLimitRetry.for_app(self)(func, *args, **kwargs)

    # -- background tasks -----------------------------------------------------------------------

    @property
    def task_manager(self) -> TaskManager:
        """The background :class:`TaskManager` (built from the config on first use)."""
        if self._tasks is None:
            s = self.settings
            self._tasks = TaskManager(
                max_workers=s.max_workers,
                timeout=s.task_timeout,
                retry_attempts=s.task_retry_attempts,
                retry_delay=s.task_retry_delay,
                queue_size=s.task_queue_size,
            )
        return self._tasks

    def _delivery_log(self) -> DeliveryLog:
        if self._deliveries is None:
            self._deliveries = DeliveryLog(self.settings.delivery_cache_size)
        return self._deliveries

    async def enqueue_task(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> str:
        """Run ``func(*args, **kwargs)`` as a background task (in the current delivery's context)."""
        return self.task_manager.submit(func, args, kwargs)

    async def get_task_status(self, task_id: str) -> TaskInfo | None:
        """The :class:`TaskInfo` of a background task (``.state``: pending/running/completed/failed)."""
        return self.task_manager.get(task_id)

    # -- OAuth2 ---------------------------------------------------------------------------------

    @property
    def get_current_user(self) -> Callable[[Request], dict[str, Any]]:
        """The logged-in user's session claims: ``Depends(github_app.get_current_user)`` (FastAPI)."""
        from .integration import current_user_dependency

        return current_user_dependency(lambda: self._session_mgr)


class _ASGIApp:
    """The plain ASGI application of a :class:`GitHubApp` (webhook route, 404 elsewhere, lifespan)."""

    def __init__(self, github_app: GitHubApp) -> None:
        self.github_app = github_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            return
        path: str = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        route = self.github_app._webhook_route
        if path.rstrip("/") != route.rstrip("/"):
            await send_json(send, 404, {"detail": "Not Found"})
            return
        await self.github_app._endpoint(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.github_app.startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.github_app.shutdown()
                except Exception as exc:
                    await send({"type": "lifespan.shutdown.failed", "message": f"{type(exc).__name__}: {exc}"})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return


# -- helpers ------------------------------------------------------------------------------------


def _iso(when: Any) -> str:
    return str(when.isoformat().replace("+00:00", "Z"))


def _warn_user_id(user_id: int | None) -> None:
    if user_id is not None:
        warnings.warn(
            "get_access_token(user_id=...) is ignored: GitHub's installation token endpoint has no user_id",
            DeprecationWarning,
            stacklevel=3,
        )


@contextmanager
def _compat_errors(message: str) -> Iterator[None]:
    """Re-raise the SDK's HTTP errors as the 0.2.7 exception classes (``githubapp.core``)."""
    from .. import core
    from ..errors import AsyncGitHubAPIError

    try:
        yield
    except core.GitHubAppError:
        raise
    except AsyncGitHubAPIError as exc:
        specific = exc.status_code in (401, 403, 404, 422)
        raise core.compat_error(exc, None if specific else message) from exc
