"""The OpenAI-compatible request and response bodies.

A request takes OpenAI's fields (`prompt`, `n`, `size`, `response_format`, `user`, `model`: one
of ours by name, or OpenAI's own (`dall-e-3`, `gpt-image-1`: the default model draws); and the
ones accepted and not needed here: `quality`, `background`, ...) and, as extra body
fields, every field of our own generation request that OpenAI has no name for (derived from
the one declaration of a request's fields, so a field added there is taken here too).
`style` is ours (`anime`, ...) or OpenAI's (`vivid`, `natural`: accepted, no effect)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from nexus_image.application.dto import GenerateImage
from nexus_image.domain.parameters import MAX_IMAGES_PER_REQUEST, request_fields
from nexus_image.domain.resolution import Resolution
from nexus_image.entrypoints.http.schemas import Prompt, body_field

OPENAI_STYLES = ("vivid", "natural")
MAX_PARTIAL_IMAGES = 3
# as prompt, n, size, style, model
NAMED_BY_OPENAI = frozenset({"prompt", "num_images", "resolution", "style", "model"})
# OpenAI's own model names (clients send them by default): the deployment's default model draws
OPENAI_MODELS = ("dall-e-", "gpt-image-")
FROM_FILES = frozenset({"init_image_id", "mask_image_id"})  # an edit's are its multipart files

Short = Annotated[str, Meta(max_length=64)]
Count = Annotated[
    int, Meta(ge=1, le=MAX_IMAGES_PER_REQUEST, description=f"1 to {MAX_IMAGES_PER_REQUEST} images")
]
Size = Annotated[
    str,
    Meta(
        max_length=32,
        description="`WIDTHxHEIGHT` or `auto`: the nearest allowed resolution of the same shape "
        f"({', '.join(r.value for r in Resolution)})",
    ),
]
User = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=255,
        description="With the `on_behalf_of` scope, the user the request is made for; else a tag",
    ),
]
Partials = Annotated[int, Meta(ge=0, le=MAX_PARTIAL_IMAGES, description="Live previews, when streaming")]

OPENAI_FIELDS: list[tuple[str, Any, Any]] = [
    ("prompt", Prompt, msgspec.NODEFAULT),
    ("model", Short | None, None),
    ("n", Count | None, None),
    ("size", Size | None, None),
    ("response_format", Literal["url", "b64_json"] | None, None),
    ("style", Short | None, None),
    ("user", User | None, None),
    ("stream", bool | None, None),
    ("partial_images", Partials | None, None),
    ("quality", Short | None, None),
    ("background", Literal["auto", "opaque"] | None, None),
    ("moderation", Literal["auto", "low"] | None, None),
    ("output_format", Literal["png"] | None, None),
    ("output_compression", Annotated[int, Meta(ge=0, le=100)] | None, None),
    ("safety_identifier", Annotated[str, Meta(max_length=255)] | None, None),
]
EDIT_FIELDS: list[tuple[str, Any, Any]] = [("input_fidelity", Literal["high", "low"] | None, None)]


def extra_names(excluded: frozenset[str]) -> tuple[str, ...]:
    return tuple(d.name for d in request_fields() if d.name not in excluded)


GENERATION_EXTRAS = extra_names(NAMED_BY_OPENAI)
EDIT_EXTRAS = extra_names(NAMED_BY_OPENAI | FROM_FILES)


def _command(
    self: Any,
    user_id: str,
    client_key: str | None,
    tier: str | None,
    resolution: Resolution | None,
    **files: str,
) -> GenerateImage:
    """Our generation request: `n` as the number of images, the resolution `size` came to, our
    style."""
    extras = GENERATION_EXTRAS if "init_image_id" not in files else EDIT_EXTRAS
    given = {name: msgspec.to_builtins(getattr(self, name)) for name in extras}
    style = self.style if self.style is None or self.style.lower() not in OPENAI_STYLES else None
    model = self.model if self.model is None or not self.model.lower().startswith(OPENAI_MODELS) else None
    return GenerateImage(
        user_id,
        client_key=client_key,
        tier=tier,
        **given,
        prompt=self.prompt,
        num_images=self.n,
        resolution=resolution,
        style=style,
        model=model,
        **files,
    )


if TYPE_CHECKING:

    class OpenAIRequest(Struct):
        prompt: str
        n: int | None
        size: str | None
        response_format: str | None
        user: str | None
        stream: bool | None
        partial_images: int | None
        strength: float | None
        deadline_seconds: int | None
        model: str | None

        def command(
            self,
            user_id: str,
            client_key: str | None,
            tier: str | None,
            resolution: Resolution | None,
            **files: str,
        ) -> GenerateImage: ...

    class GenerationsRequest(OpenAIRequest): ...

    class EditsRequest(OpenAIRequest): ...

else:
    OpenAIRequest = Struct  # the bodies below: both have what the stub above declares

    def _body(name: str, doc: str, openai: list[tuple[str, Any, Any]], extras: tuple[str, ...]) -> type:
        ours = [body_field(d, partial=True) for d in request_fields() if d.name in extras]
        return msgspec.defstruct(
            name,
            [*openai, *ours],
            kw_only=True,
            forbid_unknown_fields=True,
            module=__name__,
            namespace={"__doc__": doc, "command": _command},
        )

    GenerationsRequest = _body(
        "GenerationsRequest",
        "OpenAI's image generation request; our own request fields are taken beside OpenAI's.",
        OPENAI_FIELDS,
        GENERATION_EXTRAS,
    )
    EditsRequest = _body(
        "EditsRequest",
        "OpenAI's image edit request (the multipart fields beside `image` and `mask`).",
        OPENAI_FIELDS + EDIT_FIELDS,
        EDIT_EXTRAS,
    )


class OpenAIImage(Struct, omit_defaults=True):
    """One image: its URL or its PNG in base64, and the prompt the model saw (the style's
    template applied)."""

    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


class ImagesResponse(Struct, kw_only=True):
    created: int
    data: list[OpenAIImage]
    size: str
    output_format: str = "png"


class ModelCard(Struct, kw_only=True):
    id: str
    created: int
    owned_by: str
    object: str = "model"


class ModelList(Struct, kw_only=True):
    data: list[ModelCard]
    object: str = "list"
