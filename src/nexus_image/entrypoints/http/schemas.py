"""What travels over HTTP: request bodies and responses (msgspec Structs, JSON snake_case,
times in ISO-8601 UTC). Use-case views are translated here and nowhere else."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from msgspec import Meta, Struct, structs

from nexus_image.application.dto import AlbumView, GenerateImage, ImageView
from nexus_image.domain.album import MAX_ALBUM_NAME
from nexus_image.domain.job import JobStatus
from nexus_image.domain.parameters import (
    MAX_GUIDANCE,
    MAX_IMAGES_PER_REQUEST,
    MAX_LORA_WEIGHT,
    MAX_LORAS,
    MAX_PROMPT_LENGTH,
    MAX_SEED,
    MAX_STEPS,
    MIN_GUIDANCE,
    MIN_LORA_WEIGHT,
    MIN_STEPS,
    UPLOAD_ID,
    GenerationParameters,
    LoraWeight,
    Scheduler,
)
from nexus_image.domain.resolution import Resolution
from nexus_image.domain.styles import Style

# Litestar drops a 0 lower bound from the OpenAPI document (it tests bounds for truth), so the
# bound is repeated for the schema explicitly.
Seed = Annotated[int, Meta(ge=0, le=MAX_SEED, extra_json_schema={"extra": {"minimum": 0}})]
Steps = Annotated[int, Meta(ge=MIN_STEPS, le=MAX_STEPS)]
Guidance = Annotated[float, Meta(ge=MIN_GUIDANCE, le=MAX_GUIDANCE)]
Prompt = Annotated[str, Meta(min_length=1, max_length=MAX_PROMPT_LENGTH)]
NegativePrompt = Annotated[str, Meta(max_length=MAX_PROMPT_LENGTH)]
CompanionId = Annotated[str, Meta(min_length=1, max_length=255)]
AlbumName = Annotated[str, Meta(min_length=1, max_length=MAX_ALBUM_NAME)]
NumImages = Annotated[int, Meta(ge=1, le=MAX_IMAGES_PER_REQUEST)]
VariationStrength = Annotated[float, Meta(ge=0.0, le=1.0, extra_json_schema={"extra": {"minimum": 0}})]
UploadId = Annotated[str, Meta(pattern=UPLOAD_ID.pattern.join("^$"), description="an upload's id")]
Strength = Annotated[float, Meta(gt=0.0, le=1.0, description="how much of the starting image is repainted")]
LoraWeightValue = Annotated[
    float, Meta(ge=MIN_LORA_WEIGHT, le=MAX_LORA_WEIGHT, extra_json_schema={"extra": {"minimum": 0}})
]


class LoraRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """A LoRA adapter from `GET /api/v1/models/loras`, and how strongly it applies."""

    name: Annotated[str, Meta(min_length=1, max_length=100)]
    weight: LoraWeightValue = 1.0


Loras = Annotated[list[LoraRequest], Meta(max_length=MAX_LORAS)]


def _loras(values: dict[str, Any]) -> dict[str, Any]:
    """`loras` as the domain's LoraWeight (from request Structs or stored name/weight objects)."""
    given = values.get("loras")
    if given is not None:
        values["loras"] = tuple(
            LoraWeight(str(item["name"]), float(item["weight"]))
            if isinstance(item, dict)
            else LoraWeight(item.name, item.weight)
            for item in given
        )
    return values


# Body fields whose allowed values a validation problem lists.
ENUM_FIELDS: dict[str, tuple[str, ...]] = {
    "style": tuple(s.value for s in Style),
    "resolution": tuple(r.value for r in Resolution),
    "scheduler": tuple(s.value for s in Scheduler),
}


class GenerateRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """An image to generate. Only `prompt` is required; the seed is chosen and recorded when
    absent, steps and guidance default to the style's."""

    prompt: Prompt
    negative_prompt: NegativePrompt | None = None
    style: Style = Style.REALISTIC
    resolution: Resolution = Resolution.SQUARE_512
    seed: Seed | None = None
    steps: Steps | None = None
    guidance: Guidance | None = None
    scheduler: Scheduler | None = None
    companion_id: CompanionId | None = None
    is_public: bool = False
    num_images: NumImages = 1
    variation_seed: Seed | None = None
    variation_strength: VariationStrength | None = None
    init_image_id: UploadId | None = None
    mask_image_id: UploadId | None = None
    strength: Strength | None = None
    loras: Loras | None = None

    def command(self, user_id: str, client_key: str | None) -> GenerateImage:
        values = _loras(structs.asdict(self))
        return GenerateImage(user_id=user_id, client_key=client_key, **values)


class RemixRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """What changes from the image remixed: every field is optional and keeps the image's value
    when absent (the seed too: the same settings give the same image)."""

    prompt: Prompt | None = None
    negative_prompt: NegativePrompt | None = None
    style: Style | None = None
    resolution: Resolution | None = None
    seed: Seed | None = None
    steps: Steps | None = None
    guidance: Guidance | None = None
    scheduler: Scheduler | None = None
    companion_id: CompanionId | None = None
    is_public: bool = False
    num_images: NumImages = 1
    variation_seed: Seed | None = None
    variation_strength: VariationStrength | None = None
    init_image_id: UploadId | None = None
    mask_image_id: UploadId | None = None
    strength: Strength | None = None
    loras: Loras | None = None

    def command(self, user_id: str, client_key: str | None, base: GenerationParameters) -> GenerateImage:
        given = {k: v for k, v in structs.asdict(self).items() if v is not None}
        stored = {k: v for k, v in base.fields().items() if v is not None}
        # Only what is given changes: a new variation_seed alone keeps the stored strength. A
        # new starting image does not keep the old one's mask (it was drawn for that image).
        if "init_image_id" in given and "mask_image_id" not in given:
            stored.pop("mask_image_id", None)
        merged: dict[str, Any] = _loras({**stored, **given})
        return GenerateImage(user_id=user_id, client_key=client_key, **merged)


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


class ImageResponse(Struct, kw_only=True):
    id: str
    user_id: str
    status: JobStatus
    prompt: str
    negative_prompt: str
    style: Style
    resolution: Resolution
    width: int
    height: int
    seed: int
    steps: int
    guidance: float
    scheduler: Scheduler
    tokens_cost: int
    is_public: bool
    is_favorite: bool
    companion_id: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    failure_reason: str | None
    storage_url: str | None
    thumbnail_url: str | None
    variation_seed: int | None = None
    variation_strength: float = 0.0
    init_image_id: str | None = None
    mask_image_id: str | None = None
    strength: float | None = None
    loras: list[dict[str, Any]] = []
    group_id: str | None = None
    queue_position: int | None = None
    eta_seconds: int | None = None
    safety: SafetyResponse | None = None

    @classmethod
    def of(cls, view: ImageView, storage_url: str | None, thumbnail_url: str | None) -> ImageResponse:
        return cls(
            id=view.id,
            user_id=view.user_id,
            status=view.status,
            **view.parameters.fields(),  # type: ignore[arg-type]
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
            safety=None
            if view.safety is None
            else SafetyResponse(
                flagged=view.safety.flagged,
                score=round(view.safety.score, 4),
                labels=list(view.safety.labels),
                checker=view.safety.checker,
            ),
        )


class GeneratedResponse(ImageResponse, kw_only=True):
    """The first (or only) new image, as `GET /images/{id}` shows it, and `images`: every image
    of the request, in seed order (one unless `num_images` asked for more)."""

    images: list[ImageResponse]


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
    request_id: str | None = None
