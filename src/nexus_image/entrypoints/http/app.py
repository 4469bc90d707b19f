"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

from nexus_image import __version__
from nexus_image.entrypoints.container import Container, close
from nexus_image.entrypoints.embedded import EmbeddedWorker
from nexus_image.entrypoints.http.auth import PUBLIC, current_user, require_token
from nexus_image.entrypoints.http.controllers.albums import AlbumsController
from nexus_image.entrypoints.http.controllers.events import EventsController
from nexus_image.entrypoints.http.controllers.health import HealthController
from nexus_image.entrypoints.http.controllers.images import ImagesController
from nexus_image.entrypoints.http.controllers.library import LibraryController
from nexus_image.entrypoints.http.controllers.tokens import TokensController
from nexus_image.entrypoints.http.docs import COMPONENTS, SECURITY, seal_request_bodies
from nexus_image.entrypoints.http.errors import EXCEPTION_HANDLERS
from nexus_image.entrypoints.http.observability import RequestContextMiddleware, latency_histogram
from nexus_image.entrypoints.http.security import TokenVerifier
from nexus_image.entrypoints.settings import Settings

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 64 * 1024  # the largest valid request (two 1000-character prompts) is ~3 KiB
CORS_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID", "Last-Event-ID"]

DESCRIPTION = """Text-to-image generation for the platform's users.

Every `/api/v1` route needs `Authorization: Bearer <JWT>`; the caller is the token's `sub`.
Errors are `application/problem+json` (RFC 9457) with a machine-readable `code`."""


def _provide(factory: Callable[[], Any]) -> Provide:
    def dependency() -> Any:
        return factory()

    return Provide(dependency, sync_to_thread=False)


def dependencies(container: Container) -> dict[str, Provide]:
    """What handlers ask for by parameter name: the caller, and a fresh use case per request."""
    return {
        "user": Provide(current_user, sync_to_thread=False),
        "generation": _provide(container.request_generation),
        "cancel": _provide(container.cancel_generation),
        "queries": _provide(container.image_queries),
        "manage": _provide(container.manage_images),
        "albums": _provide(container.manage_albums),
        "tokens": _provide(container.manage_tokens),
        "audit": _provide(container.record_audit),
        "limiter": _provide(container.rate_limiter),
        "broadcaster": _provide(container.live_events),
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
        expose_headers=["X-Request-ID", "Retry-After", "Location"],
        allow_credentials=False,
        max_age=600,
    )


def openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="nexus-image",
        version=__version__,
        description=DESCRIPTION,
        components=COMPONENTS,
        use_handler_docstrings=True,
        render_plugins=[SwaggerRenderPlugin()],
        openapi_router=Router("/schema", route_handlers=[], include_in_schema=False, opt={PUBLIC: True}),
    )


def create_app(settings: Settings, container: Container | None = None) -> Litestar:
    """The HTTP service. Refuses to build without a usable JWT configuration in production.
    With `settings.embedded_worker`, the worker loops run in this process from startup to
    shutdown."""
    container = container or Container(settings=settings)
    verifier = TokenVerifier.from_settings(settings)
    worker = (
        EmbeddedWorker(container.service(), container.job_queue(), settings, container.generator())
        if settings.embedded_worker
        else None
    )

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        if worker is not None:
            await anyio.to_thread.run_sync(worker.start)
        try:
            yield
        finally:
            if worker is not None:
                await anyio.to_thread.run_sync(worker.stop)
            close(container)

    api = Router(
        API_PREFIX,
        route_handlers=[
            ImagesController,
            LibraryController,
            AlbumsController,
            TokensController,
            EventsController,
        ],
        security=SECURITY,
    )
    app = Litestar(
        route_handlers=[api, HealthController],
        dependencies=dependencies(container),
        guards=[require_token],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        middleware=[
            DefineMiddleware(
                RequestContextMiddleware, latency=latency_histogram(container.metrics().registry)
            )
        ],
        cors_config=cors(settings),
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=openapi(),
        state=State({"container": container, "verifier": verifier, "embedded_worker": worker}),
        lifespan=[lifespan],
        logging_config=None,
    )
    seal_request_bodies(app)
    return app
