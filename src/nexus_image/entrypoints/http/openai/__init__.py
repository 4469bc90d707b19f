"""An OpenAI-compatible images API under `/v1`, for the clients that speak it (the official
SDKs, Open WebUI, SillyTavern): the same callers, use cases, moderation, billing, fairness and
limits as `/api/v1`, in OpenAI's request, response and error shapes."""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide

from nexus_image.entrypoints.http.docs import SECURITY
from nexus_image.entrypoints.http.openai.errors import (
    OPENAI_EXCEPTION_HANDLERS,
    OPENAI_PREFIX,
    on_openai_paths,
)
from nexus_image.entrypoints.http.openai.images import OpenAIImagesController
from nexus_image.entrypoints.http.openai.models import OpenAIModelsController, OpenAISetup
from nexus_image.entrypoints.settings import Settings

__all__ = ["on_openai_paths", "openai_router"]


def openai_router(settings: Settings) -> Router:
    """The `/v1` routes, behind the application's guard like `/api/v1` (the SDKs send the API
    key as `Authorization: Bearer`: a JWT or a service key), every error in OpenAI's shape."""
    setup = OpenAISetup.of(settings)
    return Router(
        OPENAI_PREFIX,
        route_handlers=[OpenAIImagesController, OpenAIModelsController],
        dependencies={"openai_setup": Provide(lambda: setup, sync_to_thread=False)},
        exception_handlers=OPENAI_EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        security=SECURITY,
    )
