"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import anyio.to_thread
import openapi_ui_bundles
from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

from nexus_image import __version__
from nexus_image.application.account_export import ExportAccountData
from nexus_image.application.accounts import ViewAccount
from nexus_image.application.albums import ManageAlbums
from nexus_image.application.audit import RecordAudit
from nexus_image.application.cancel import CancelGeneration
from nexus_image.application.dispatch import ManageQueue
from nexus_image.application.erasure import EraseUser
from nexus_image.application.images import ImageQueries, ManageImages
from nexus_image.application.moderation import ModeratePrompts
from nexus_image.application.operators import OperateUsers
from nexus_image.application.ports import HealthChecks, LiveEventFeed, LoraCatalog, ModelCatalog, RateLimiter
from nexus_image.application.ports.upscaling import UpscalerCatalog
from nexus_image.application.presets import ManagePresets
from nexus_image.application.prompt_tokens import CountPromptTokens
from nexus_image.application.read_parameters import ReadParameters
from nexus_image.application.request_generation import RequestGeneration
from nexus_image.application.search import SearchImages
from nexus_image.application.service_keys import ManageServiceKeys
from nexus_image.application.tokens import ManageTokens
from nexus_image.application.uploads import ManageUploads
from nexus_image.application.upscale import UpscaleImage
from nexus_image.application.webhook_endpoints import ManageWebhooks
from nexus_image.domain.fast_modes import FastMode
from nexus_image.entrypoints.http.auth import PUBLIC, current_user, require_token
from nexus_image.entrypoints.http.controllers.account import AccountController
from nexus_image.entrypoints.http.controllers.account_data import AccountDataController
from nexus_image.entrypoints.http.controllers.albums import AlbumsController
from nexus_image.entrypoints.http.controllers.events import EventsController
from nexus_image.entrypoints.http.controllers.health import HealthController
from nexus_image.entrypoints.http.controllers.images import ImagesController
from nexus_image.entrypoints.http.controllers.library import LibraryController
from nexus_image.entrypoints.http.controllers.moderation import ModerationController
from nexus_image.entrypoints.http.controllers.operators import OperatorsController
from nexus_image.entrypoints.http.controllers.presets import PresetsController
from nexus_image.entrypoints.http.controllers.prompts import PromptsController
from nexus_image.entrypoints.http.controllers.search import SearchController
from nexus_image.entrypoints.http.controllers.service_keys import ServiceKeysController
from nexus_image.entrypoints.http.controllers.studio import StudioController, StudioSetup, loopback
from nexus_image.entrypoints.http.controllers.tokens import TokensController
from nexus_image.entrypoints.http.controllers.uploads import ModelsController, UploadsController
from nexus_image.entrypoints.http.controllers.webhooks import WebhooksController
from nexus_image.entrypoints.http.docs import COMPONENTS, SECURITY, document_headers, seal_request_bodies
from nexus_image.entrypoints.http.errors import EXCEPTION_HANDLERS
from nexus_image.entrypoints.http.inputs import check_request
from nexus_image.entrypoints.http.models import ModelWatch
from nexus_image.entrypoints.http.observability import RequestContextMiddleware, http_metrics
from nexus_image.entrypoints.http.openai import on_openai_paths, openai_router
from nexus_image.entrypoints.http.security import TokenVerifier, mint_token, signing_secret
from nexus_image.entrypoints.http.studio import ASSETS
from nexus_image.entrypoints.http.suspensions import Suspensions
from nexus_image.entrypoints.settings import Settings

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 64 * 1024  # the largest valid request (two 1000-character prompts) is ~3 KiB
CORS_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "X-Request-ID",
    "Last-Event-ID",
    "X-On-Behalf-Of",
    "Prefer",
    "X-Confirm-Erasure",
]
SWAGGER_ASSETS = "/schema/assets/swagger-ui"
REDOC_ASSETS = "/schema/assets/redoc"

DESCRIPTION = """Text-to-image generation for the platform's users.

Every `/api/v1` route needs `Authorization: Bearer <token>`: a JWT (the caller is its `sub`) or
a service key (`nxi_sk_...`, made by an operator: `/api/v1/admin/keys`). Each route needs a
scope: `images:read` to read, `images:write` to change anything, `admin` for `/admin`; a JWT
holds `images:read`, `images:write` and `webhooks`. A key with `on_behalf_of` may send
`X-On-Behalf-Of: <user id>`: the request is then that user's (billing, listings, access), and
audited with both names. A credential without the scope a route needs is 403
(`insufficient_scope`, naming it). Errors are `application/problem+json` (RFC 9457) with a
machine-readable `code`."""


class Background(Protocol):
    """What the API process runs beside it (the embedded worker, the live-event feed): started
    with the app, stopped with it."""

    def start(self) -> None: ...
    def stop(self, timeout: float = ...) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpUseCases:
    """The use cases the HTTP handlers take, each by its parameter name."""

    request_generation: RequestGeneration
    cancel_generation: CancelGeneration
    queries: ImageQueries
    search: SearchImages
    manage: ManageImages
    albums: ManageAlbums
    tokens: ManageTokens
    audit: RecordAudit
    moderation: ModeratePrompts
    uploads: ManageUploads
    read_parameters: ReadParameters
    lora_catalog: LoraCatalog
    model_catalog: ModelCatalog | None  # None: the library's in-memory role, with no HTTP
    webhooks: ManageWebhooks
    service_keys: ManageServiceKeys
    prompt_tokens: CountPromptTokens
    presets: ManagePresets
    upscale: UpscaleImage
    upscaler_catalog: UpscalerCatalog
    fast_modes: dict[str, FastMode]
    accounts: ViewAccount
    operators: OperateUsers
    queue: ManageQueue
    export_account: ExportAccountData
    erase_user: EraseUser


@dataclass(frozen=True, slots=True)
class ApiParts:
    """What the HTTP layer needs, built by the composition root: it names no adapter."""

    use_cases: HttpUseCases
    live_feed: LiveEventFeed
    rate_limiter: RateLimiter
    registry: Any  # the Prometheus registry that /metrics serves and request latency goes to
    readiness: HealthChecks
    close: Callable[[], None]
    background: tuple[Background, ...] = ()
    model_state: Callable[[], str] | None = None  # the embedded worker's model, for readiness
    model_watch: ModelWatch = field(default_factory=ModelWatch)


def _value(value: Any) -> Provide:
    def dependency() -> Any:
        return value

    return Provide(dependency, sync_to_thread=False)


def dependencies(parts: ApiParts) -> dict[str, Provide]:
    """What handlers ask for by parameter name: the caller, the use cases and the edge's ports."""
    use_cases = parts.use_cases
    return {
        "user": Provide(current_user),
        **{name: _value(getattr(use_cases, name)) for name in use_cases.__slots__},
        "limiter": _value(parts.rate_limiter),
        "broadcaster": _value(parts.live_feed),
    }


def cors(settings: Settings) -> CORSConfig | None:
    """Cross-origin browsers are refused unless NEXUS_IMAGE_CORS_ORIGINS lists their origin."""
    origins = [origin.strip() for origin in settings.cors_origins.split(",") if origin.strip()]
    if not origins:
        return None
    return CORSConfig(
        allow_origins=origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=CORS_HEADERS,
        expose_headers=[
            "X-Request-ID",
            "Retry-After",
            "Location",
            "Preference-Applied",
            "Content-Disposition",
        ],
        allow_credentials=False,
        max_age=600,
    )


def openapi() -> OpenAPIConfig:
    """The document at /schema/openapi.json, Swagger UI at /schema/swagger (and /schema), ReDoc at
    /schema/redoc: their scripts, styles and icon are served by the app itself (`doc_assets`), so
    the pages work offline and name no other host."""
    favicon = f"<link rel='icon' type='image/png' href='{SWAGGER_ASSETS}/favicon-32x32.png'>"
    swagger = SwaggerRenderPlugin(
        js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
        css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{SWAGGER_ASSETS}/swagger-ui-standalone-preset.js",
        favicon=favicon,
    )
    redoc = RedocRenderPlugin(
        js_url=f"{REDOC_ASSETS}/redoc.standalone.js", google_fonts=False, favicon=favicon
    )
    return OpenAPIConfig(
        title="nexus-image",
        version=__version__,
        description=DESCRIPTION,
        components=COMPONENTS,
        use_handler_docstrings=True,
        render_plugins=[swagger, redoc],
        openapi_router=Router("/schema", route_handlers=[], include_in_schema=False, opt={PUBLIC: True}),
    )


def doc_assets() -> list[Router]:
    """Swagger UI's and ReDoc's static files, from the `openapi-ui-bundles` package (Apache-2.0):
    public, like the pages that load them."""
    bundles = {
        SWAGGER_ASSETS: openapi_ui_bundles.swagger_ui.static_path,
        REDOC_ASSETS: openapi_ui_bundles.redoc.static_path,
    }
    return [
        create_static_files_router(
            path, directories=[directory], name=path, opt={PUBLIC: True}, include_in_schema=False
        )
        for path, directory in bundles.items()
    ]


def studio_setup(settings: Settings, parts: ApiParts) -> StudioSetup:
    """Local sign-in only where nobody else could use it (the embedded database, no URL, and a
    server listening on loopback) and where tokens can be signed here (no public key)."""
    local = settings.is_embedded and loopback(settings.host) and signing_secret(settings) is not None

    def mint(user_id: str, ttl_seconds: int) -> str:
        return mint_token(settings, user_id, ttl_seconds)

    mode = "embedded" if parts.model_state is not None else "api"
    return StudioSetup(
        mode=mode, model=settings.model, mint=mint if local else None, pricing=settings.pricing
    )


def studio_assets() -> Router:
    """The studio's scripts and styles (public, like the page)."""
    return create_static_files_router(
        "/studio/assets", directories=[ASSETS], name="studio", opt={PUBLIC: True}, include_in_schema=False
    )


def create_app(settings: Settings, parts: ApiParts) -> Litestar:
    """The HTTP service on the parts the composition root built (`compose(...)` then
    `http_app`). Refuses to build without a usable JWT configuration in production. What runs
    in the `background` (the embedded worker, the live-event feed) runs from startup to
    shutdown."""
    verifier = TokenVerifier.from_settings(settings)
    checks = dict(parts.readiness)
    if parts.model_state is not None:
        checks["model"] = parts.model_state
    parts = replace(parts, readiness=checks)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        for part in parts.background:
            await anyio.to_thread.run_sync(part.start)
        try:
            yield
        finally:
            for part in reversed(parts.background):
                await anyio.to_thread.run_sync(part.stop)
            parts.close()

    api = Router(
        API_PREFIX,
        route_handlers=[
            ImagesController,
            LibraryController,
            SearchController,
            AlbumsController,
            PresetsController,
            TokensController,
            ModerationController,
            PromptsController,
            EventsController,
            UploadsController,
            ModelsController,
            ServiceKeysController,
            WebhooksController,
            AccountController,
            AccountDataController,
            OperatorsController,
        ],
        security=SECURITY,
    )
    app = Litestar(
        route_handlers=[
            api,
            openai_router(settings),
            HealthController,
            StudioController,
            *doc_assets(),
            studio_assets(),
        ],
        dependencies=dependencies(parts),
        guards=[require_token],
        before_request=check_request,
        exception_handlers={Exception: on_openai_paths(EXCEPTION_HANDLERS[Exception])},
        middleware=[
            DefineMiddleware(
                RequestContextMiddleware,
                metrics=http_metrics(parts.registry),
                body_timeout=settings.http_body_timeout_seconds,
            )
        ],
        cors_config=cors(settings),
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=openapi(),
        state=State(
            {
                "parts": parts,
                "verifier": verifier,
                "public_url": settings.public_url,
                "studio": studio_setup(settings, parts),
                "model_watch": parts.model_watch,
                "suspensions": Suspensions(parts.use_cases.accounts.suspended_users),
            }
        ),
        lifespan=[lifespan],
        logging_config=None,
    )
    seal_request_bodies(app)
    document_headers(app)
    return app
