"""`GET /v1/models`: the models this deployment offers, as OpenAI lists models.

Requests may name one of them in `model`, or OpenAI's own (`dall-e-3`, `gpt-image-1`: clients
send their default) for the default model, so such clients work unchanged."""

from __future__ import annotations

import time
from dataclasses import dataclass

from litestar import Controller, get

from nexus_image.application.ports import ModelCatalog
from nexus_image.entrypoints.http.openai.bodies import ModelCard, ModelList
from nexus_image.entrypoints.http.openai.errors import OpenAIError, openai_errors
from nexus_image.entrypoints.settings import Settings


@dataclass(frozen=True, slots=True)
class OpenAISetup:
    """What the OpenAI-compatible routes take from the settings."""

    wait_seconds: int
    created: int  # when this process started: OpenAI lists a model's creation time

    @classmethod
    def of(cls, settings: Settings) -> OpenAISetup:
        return cls(settings.openai_wait_seconds, int(time.time()))

    def card(self, name: str) -> ModelCard:
        return ModelCard(id=name, created=self.created, owned_by="nexus-image")


def _offered(catalog: ModelCatalog | None) -> list[str]:
    return [model.name for model in catalog.offered()] if catalog is not None else []


class OpenAIModelsController(Controller):
    path = "/models"
    tags = ["openai"]

    @get(
        "/",
        summary="The models offered (OpenAI-compatible)",
        sync_to_thread=True,
        responses=openai_errors(403),
    )
    def models(self, openai_setup: OpenAISetup, model_catalog: ModelCatalog | None) -> ModelList:
        return ModelList(data=[openai_setup.card(name) for name in _offered(model_catalog)])

    @get(
        "/{model:path}",
        summary="One model offered (OpenAI-compatible)",
        sync_to_thread=True,
        responses=openai_errors(403, 404),
    )
    def model(self, model: str, openai_setup: OpenAISetup, model_catalog: ModelCatalog | None) -> ModelCard:
        """404 (`model_not_found`) for a model this deployment does not offer."""
        name = str(model).lstrip("/")
        offered = _offered(model_catalog)
        if name not in offered:
            message = f"the model {name!r} is not offered here; offered: {', '.join(offered) or 'none'}"
            raise OpenAIError(404, message, "model_not_found", kind="invalid_request_error")
        return openai_setup.card(name)
