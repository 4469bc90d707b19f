"""`GET /v1/models`: the model this deployment serves, as OpenAI lists models.

Requests may name any `model` (clients send their own default, `dall-e-3` or `gpt-image-1`):
it is accepted and the deployment's model draws the image, so such clients work unchanged."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import PurePath

from litestar import Controller, get

from nexus_image.entrypoints.http.openai.bodies import ModelCard, ModelList
from nexus_image.entrypoints.http.openai.errors import OpenAIError, openai_errors
from nexus_image.entrypoints.settings import Settings

TINY_MODEL = "tiny-random-sd15"  # what runs when no model is configured (noise images)
MODEL_SUFFIXES = (".safetensors", ".ckpt")


def model_id(model: str | None) -> str:
    """A model's public name: a hub id as it is; a folder or file by its name only (a server
    path says nothing to clients and should not leave the server)."""
    if not model:
        return TINY_MODEL
    path = PurePath(model)
    looks_like_path = model.startswith(("/", ".", "~")) or "\\" in model or model.count("/") > 1
    if looks_like_path or model.endswith(MODEL_SUFFIXES):
        name = path.name
        for suffix in MODEL_SUFFIXES:
            name = name.removesuffix(suffix)
        return name or TINY_MODEL
    return model


@dataclass(frozen=True, slots=True)
class OpenAISetup:
    """What the OpenAI-compatible routes take from the settings."""

    wait_seconds: int
    model: str
    created: int  # when this process started: OpenAI lists a model's creation time

    @classmethod
    def of(cls, settings: Settings) -> OpenAISetup:
        return cls(settings.openai_wait_seconds, model_id(settings.model), int(time.time()))

    def card(self) -> ModelCard:
        return ModelCard(id=self.model, created=self.created, owned_by="nexus-image")


class OpenAIModelsController(Controller):
    path = "/models"
    tags = ["openai"]

    @get("/", summary="The models served (OpenAI-compatible)", responses=openai_errors(403))
    async def models(self, openai_setup: OpenAISetup) -> ModelList:
        return ModelList(data=[openai_setup.card()])

    @get("/{model:path}", summary="One model served (OpenAI-compatible)", responses=openai_errors(403, 404))
    async def model(self, model: str, openai_setup: OpenAISetup) -> ModelCard:
        """404 (`model_not_found`) for a model this deployment does not serve (a hub id's
        slash included)."""
        name = str(model).lstrip("/")
        if name != openai_setup.model:
            message = f"the model {name!r} is not served here; this deployment serves {openai_setup.model!r}"
            raise OpenAIError(404, message, "model_not_found", kind="invalid_request_error")
        return openai_setup.card()
