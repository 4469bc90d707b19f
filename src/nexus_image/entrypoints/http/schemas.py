"""What travels over HTTP: request bodies and responses (msgspec Structs, JSON snake_case,
times in ISO-8601 UTC). Use-case views are translated here and nowhere else."""

from __future__ import annotations

from dataclasses import MISSING
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints

import msgspec
from msgspec import Meta, Struct

from nexus_image.application.dto import AlbumView, GenerateImage, ImageView
from nexus_image.domain.album import MAX_ALBUM_NAME
from nexus_image.domain.job import JobStatus
from nexus_image.domain.parameters import (
    MAX_LORA_WEIGHT,
    MIN_LORA_WEIGHT,
    FieldDescription,
    GenerationParameters,
    Kind,
    field_named,
    grouped,
    parameter_fields,
    request_fields,
)

CompanionId = Annotated[str, Meta(min_length=1, max_length=255)]
AlbumName = Annotated[str, Meta(min_length=1, max_length=MAX_ALBUM_NAME)]


class LoraRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """A LoRA adapter the operator offers (`GET /api/v1/models/…`), and how strongly it applies."""

    name: Annotated[str, Meta(min_length=1, max_length=100)]
    weight: Annotated[
        float, Meta(ge=MIN_LORA_WEIGHT, le=MAX_LORA_WEIGHT, extra_json_schema={"extra": {"minimum": 0}})
    ] = 1.0


def _meta(description: FieldDescription) -> Meta:
    """A field's bounds and meaning for msgspec (checks) and the OpenAPI document. Litestar
    drops a 0 lower bound from the document (it tests bounds for truth), so such a bound is
    repeated for the schema explicitly."""
    param = description.param
    bounds: dict[str, Any] = {"description": param.help}
    if param.kind in (Kind.INTEGER, Kind.NUMBER):
        bounds["gt" if param.above_low else "ge"] = param.low
        bounds["le"] = param.high
        if param.low == 0 and not param.above_low:
            bounds["extra_json_schema"] = {"extra": {"minimum": 0}}
    elif param.kind is Kind.TEXT:
        bounds.update(min_length=param.min_length, max_length=param.max_length)
    elif param.kind in (Kind.UPLOAD, Kind.MODEL, Kind.NAME) and param.pattern is not None:
        bounds["pattern"] = param.pattern.join("^$")
    elif param.kind in (Kind.ADAPTERS, Kind.CHOICES):
        bounds["max_length"] = param.max_length
    elif param.kind is Kind.URL:
        bounds.update(max_length=param.max_length, pattern="^[Hh][Tt][Tt][Pp][Ss]?://")
    return Meta(**{k: v for k, v in bounds.items() if v is not None})


BODY_TYPES: dict[Kind, Any] = {
    Kind.TEXT: str,
    Kind.INTEGER: int,
    Kind.NUMBER: float,
    Kind.UPLOAD: str,
    Kind.FLAG: bool,
    Kind.ADAPTERS: list[LoraRequest],
    Kind.URL: str,
    Kind.MODEL: str,
    Kind.NAME: str,
}


def body_field(description: FieldDescription, partial: bool) -> tuple[str, Any, Any]:
    """One field of a request body: required only where the declaration says so (and never in
    a partial body), null or absent for its default."""
    param = description.param
    if param.kind is Kind.CHOICES:
        base: Any = list[param.choices]  # type: ignore[name-defined]
    else:
        base = param.choices if param.kind is Kind.CHOICE else BODY_TYPES[param.kind]
    annotated: Any = Annotated[base, _meta(description)]
    if param.required and not partial:
        return (description.name, annotated, msgspec.NODEFAULT)
    default = description.default
    if partial or default is MISSING or default is None or default == () or param.kind is Kind.TEXT:
        return (description.name, annotated | None, None)
    return (description.name, annotated | None, default)


HIRES = "hires_"
# The hires fix as one object: `{"scale", "steps", "denoise", "upscaler"}`, the fields of its
# declared group without their prefix (a field given both ways takes the flat one).
HiresRequest = msgspec.defstruct(
    "HiresRequest",
    [
        (name.removeprefix(HIRES), *body_field(field_named(name), partial=True)[1:])
        for name in grouped("hires")
    ],
    kw_only=True,
    forbid_unknown_fields=True,
    module=__name__,
)


def _values(body: Struct) -> dict[str, Any]:
    """A body's fields as plain values (enums as names, adapters as name/weight objects), the
    nested `hires` object spread into its flat fields."""
    values = {f: msgspec.to_builtins(getattr(body, f)) for f in body.__struct_fields__}
    nested = values.pop("hires", None) or {}
    for key, value in nested.items():
        if values.get(HIRES + key) is None:
            values[HIRES + key] = value
    return values


def _generate_command(
    self: Struct, user_id: str, client_key: str | None, tier: str | None = None
) -> GenerateImage:
    return GenerateImage(user_id, client_key=client_key, tier=tier, **_values(self))


# The bodies are derived from the one declaration of a request's fields (the domain's
# `request_fields`): the order, the bounds, the defaults and the descriptions come from there.
if TYPE_CHECKING:

    class GenerateRequest(Struct):
        def command(self, user_id: str, client_key: str | None, tier: str | None = None) -> GenerateImage: ...

    class RemixRequest(GenerateRequest): ...

else:

    def _body(name: str, doc: str, partial: bool) -> type[Struct]:
        return msgspec.defstruct(
            name,
            [*(body_field(d, partial) for d in request_fields()), ("hires", HiresRequest | None, None)],
            kw_only=True,
            forbid_unknown_fields=True,
            module=__name__,
            namespace={"__doc__": doc, "command": _generate_command},
        )

    GenerateRequest = _body(
        "GenerateRequest",
        "An image to generate. Only `prompt` is required; the seed is chosen and recorded when "
        "absent, and the fields a style sets default to the style's.",
        partial=False,
    )
    RemixRequest = _body(
        "RemixRequest",
        "What changes from the image remixed: every field is optional and keeps the image's value "
        "when absent (the seed too: the same settings give the same image).",
        partial=True,
    )


class UpscaleRequest(Struct, kw_only=True, forbid_unknown_fields=True):
    """How to upscale an image: `factor` 2 or 4, by `upscaler` (`lanczos` or a model of
    `GET /models/upscalers`); the new image is private unless `is_public`."""

    factor: int = 2
    upscaler: str = "lanczos"
    is_public: bool = False


Prompt = Annotated[str, _meta(field_named("prompt"))]

# Body fields whose allowed values a validation problem lists.
ENUM_FIELDS: dict[str, tuple[str, ...]] = {
    d.name: tuple(choice.value for choice in d.param.choices)
    for d in request_fields()
    if d.param.choices is not None
}


class UploadResponse(Struct, kw_only=True):
    """An upload: its id for `init_image_id` / `mask_image_id`, its size in pixels and bytes
    (stored as PNG), the format it was sent in."""

    upload_id: str
    width: int
    height: int
    size: int
    source_format: str
    content_type: str
    created_at: datetime
    url: str


class UploadPage(Struct, kw_only=True):
    """The caller's uploads (newest first, at most 200) and their allowance."""

    items: list[UploadResponse]
    count: int
    bytes_used: int
    max_count: int
    max_bytes: int


class ParametersResponse(Struct, kw_only=True):
    """`parameters`: the fields of a generate request found in the file; `source`: whose format
    (`nexus-image`, `automatic1111`); `unsupported`: settings found with no equivalent here."""

    source: str
    parameters: dict[str, Any]
    unsupported: dict[str, str]


class ModerationCheckRequest(Struct, forbid_unknown_fields=True):
    prompt: Prompt


class ModerationCheckResponse(Struct):
    """`category` (one of sexual, minors, sexual_violence, violence, hate, self_harm) and
    `layer` (rules, semantic) are set when the prompt would be refused."""

    allowed: bool
    category: str | None = None
    layer: str | None = None


class VisibilityRequest(Struct, forbid_unknown_fields=True):
    is_public: bool


class AlbumRequest(Struct, forbid_unknown_fields=True):
    name: AlbumName


def utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None


class SafetyResponse(Struct, kw_only=True):
    """What the output check found: a `flagged` image cannot be made public."""

    flagged: bool
    score: float
    labels: list[str]
    checker: str


def _response_fields() -> list[tuple[str, Any, Any]]:
    """An image as the API shows it: who and what state, then its parameters (from the one
    declaration, typed as the domain types them), then the rest."""
    hints = get_type_hints(GenerationParameters)
    parameters = [
        (d.name, list[dict[str, Any]] if d.param.kind is Kind.ADAPTERS else hints[d.name], msgspec.NODEFAULT)
        for d in parameter_fields()
    ]
    return [
        ("id", str, msgspec.NODEFAULT),
        ("user_id", str, msgspec.NODEFAULT),
        ("status", JobStatus, msgspec.NODEFAULT),
        *parameters,
        ("width", int, msgspec.NODEFAULT),
        ("height", int, msgspec.NODEFAULT),
        ("tokens_cost", int, msgspec.NODEFAULT),
        ("is_public", bool, msgspec.NODEFAULT),
        ("is_favorite", bool, msgspec.NODEFAULT),
        ("companion_id", str | None, msgspec.NODEFAULT),
        ("created_at", datetime, msgspec.NODEFAULT),
        ("started_at", datetime | None, msgspec.NODEFAULT),
        ("completed_at", datetime | None, msgspec.NODEFAULT),
        ("failure_reason", str | None, msgspec.NODEFAULT),
        ("storage_url", str | None, msgspec.NODEFAULT),
        ("thumbnail_url", str | None, msgspec.NODEFAULT),
        ("group_id", str | None, None),
        ("queue_position", int | None, None),
        ("eta_seconds", int | None, None),
        ("deadline_at", datetime | None, None),
        ("expires_at", datetime | None, None),
        ("data_removed_at", datetime | None, None),
        ("safety", SafetyResponse | None, None),
    ]


def _image_response(cls: Any, view: ImageView, storage_url: str | None, thumbnail_url: str | None) -> Any:
    return cls(
        id=view.id,
        user_id=view.user_id,
        status=view.status,
        **view.parameters.fields(),
        width=view.width,
        height=view.height,
        tokens_cost=view.tokens_cost,
        is_public=view.is_public,
        is_favorite=view.is_favorite,
        companion_id=view.companion_id,
        created_at=view.created_at.astimezone(UTC),
        started_at=utc(view.started_at),
        completed_at=utc(view.completed_at),
        failure_reason=view.failure_reason,
        storage_url=storage_url,
        thumbnail_url=thumbnail_url,
        group_id=view.group_id,
        queue_position=view.queue_position,
        eta_seconds=view.eta_seconds,
        deadline_at=utc(view.deadline_at),
        expires_at=utc(view.expires_at),
        data_removed_at=utc(view.data_removed_at),
        safety=None
        if view.safety is None
        else SafetyResponse(
            flagged=view.safety.flagged,
            score=round(view.safety.score, 4),
            labels=list(view.safety.labels),
            checker=view.safety.checker,
        ),
    )


if TYPE_CHECKING:

    class ImageResponse(Struct):
        id: str

        @classmethod
        def of(cls, view: ImageView, storage_url: str | None, thumbnail_url: str | None) -> ImageResponse: ...

else:
    ImageResponse = msgspec.defstruct(
        "ImageResponse",
        _response_fields(),
        kw_only=True,
        module=__name__,
        namespace={"of": classmethod(_image_response)},
    )


class GeneratedResponse(ImageResponse, kw_only=True):
    """The first (or only) new image, as `GET /images/{id}` shows it, and `images`: every image
    of the request, in seed order (one unless more were asked for)."""

    images: list[ImageResponse]


class CancelResponse(ImageResponse, kw_only=True):
    """The cancelled image, and the tokens given back (the whole cost, or under the
    proportional refund policy the share of the steps not run, rounded up)."""

    refunded_tokens: int


class ImagePage(Struct, kw_only=True):
    items: list[ImageResponse]
    total: int
    page: int
    size: int


class AlbumResponse(Struct, kw_only=True):
    id: str
    owner_id: str
    name: str
    created_at: datetime
    image_count: int

    @classmethod
    def of(cls, view: AlbumView) -> AlbumResponse:
        return cls(
            id=view.id,
            owner_id=view.owner_id,
            name=view.name,
            created_at=view.created_at.astimezone(UTC),
            image_count=view.image_count,
        )


class BalanceResponse(Struct, kw_only=True):
    user_id: str
    balance: int


class HealthResponse(Struct, kw_only=True):
    status: str
    checks: dict[str, str] = {}


class ReadinessResponse(HealthResponse, kw_only=True, omit_defaults=True):
    """Where this server generates (embedded), `models`: each model offered, loaded or not."""

    models: dict[str, bool] | None = None


class Problem(Struct, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem: `type`, `title`, `status`, `detail`, plus what the client can act
    on: the `field` at fault and its `allowed` values, the moderation `category` and the `layer`
    that decided, the tokens `required` and the `balance`, the seconds to wait before a retry,
    the `reason` an image cannot be public."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    field: str | None = None
    allowed: list[str] | None = None
    category: str | None = None
    layer: str | None = None
    reason: str | None = None
    required: int | None = None
    balance: int | None = None
    retry_after: int | None = None
    tier: str | None = None  # user_queue_full: the caller's tier, its cap and their images queued
    max_queued: int | None = None
    queued: int | None = None
    scope: str | None = None  # insufficient_scope: the scope the route needs
    quota: str | None = None  # quota_exceeded: which quota, its limit, what is used, when it resets
    limit: int | None = None
    used: int | None = None
    resets_at: str | None = None
    request_id: str | None = None
