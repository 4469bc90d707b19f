"""Commands in, views out: frozen dataclasses at the application boundary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nexus_image.application.process_outcome import ProcessOutcome as ProcessOutcome  # its home
from nexus_image.domain.album import Album
from nexus_image.domain.job import ImageJob, JobStatus
from nexus_image.domain.parameters import GenerationParameters, LoraWeight, Scheduler
from nexus_image.domain.resolution import Resolution
from nexus_image.domain.safety import OutputSafety
from nexus_image.domain.styles import Style


@dataclass(frozen=True, slots=True)
class GenerateImage:
    """A request as the caller spells it: names or the domain's enums, checked by the use case."""

    user_id: str
    prompt: str
    negative_prompt: str | None = None
    style: Style | str = Style.REALISTIC
    resolution: Resolution | str = Resolution.SQUARE_512
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    scheduler: Scheduler | str | None = None
    companion_id: str | None = None
    is_public: bool = False
    client_key: str | None = None
    variation_seed: int | None = None
    variation_strength: float | None = None
    num_images: int = 1  # one job each, consecutive seeds, one group, charged all or none
    init_image_id: str | None = None  # an upload of the caller's: image to image
    mask_image_id: str | None = None  # with it, an upload of the caller's: inpainting
    strength: float | None = None
    loras: tuple[LoraWeight, ...] = ()


@dataclass(frozen=True, slots=True)
class ImageView:
    """A job as its owner (or, once public, anyone) sees it. The generation parameters stay
    one `GenerationParameters`; their fields read through."""

    id: str
    user_id: str
    parameters: GenerationParameters
    status: JobStatus
    tokens_cost: int
    is_public: bool
    companion_id: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    failure_reason: str | None
    storage_url: str | None
    thumbnail_url: str | None
    is_favorite: bool = False
    queue_position: int | None = None  # 1 = next; None once started
    eta_seconds: int | None = None  # estimated seconds until it is ready, while QUEUED
    safety: OutputSafety | None = None  # the output check's findings; None: not checked
    group_id: str | None = None  # the images of one request for several share it

    @classmethod
    def of(
        cls,
        job: ImageJob,
        storage_url: str | None = None,
        thumbnail_url: str | None = None,
        is_favorite: bool = False,
    ) -> ImageView:
        return cls(
            id=job.id,
            user_id=job.user_id,
            parameters=job.parameters,
            status=job.status,
            tokens_cost=job.tokens_cost,
            is_public=job.is_public,
            companion_id=job.companion_id,
            created_at=job.created_at,
            started_at=job.started_at,
            completed_at=job.completed_at,
            failure_reason=job.failure_reason,
            storage_url=storage_url,
            thumbnail_url=thumbnail_url,
            is_favorite=is_favorite,
            safety=job.safety,
            group_id=job.group_id,
        )

    @property
    def prompt(self) -> str:
        return self.parameters.prompt

    @property
    def negative_prompt(self) -> str:
        return self.parameters.negative_prompt

    @property
    def style(self) -> Style:
        return self.parameters.style

    @property
    def resolution(self) -> Resolution:
        return self.parameters.resolution

    @property
    def width(self) -> int:
        return self.parameters.width

    @property
    def height(self) -> int:
        return self.parameters.height

    @property
    def seed(self) -> int:
        return self.parameters.seed

    @property
    def steps(self) -> int:
        return self.parameters.steps

    @property
    def guidance(self) -> float:
        return self.parameters.guidance

    @property
    def scheduler(self) -> Scheduler:
        return self.parameters.scheduler


@dataclass(frozen=True, slots=True)
class AlbumView:
    id: str
    owner_id: str
    name: str
    created_at: datetime
    image_count: int

    @classmethod
    def of(cls, album: Album) -> AlbumView:
        return cls(album.id, album.owner_id, album.name, album.created_at, len(album.image_ids))
