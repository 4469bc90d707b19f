"""Commands in, views out: frozen dataclasses at the application boundary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nexus_image.domain.album import Album
from nexus_image.domain.job import ImageJob


@dataclass(frozen=True, slots=True)
class GenerateImage:
    user_id: str
    prompt: str
    negative_prompt: str | None = None
    style: str = "realistic"
    resolution: str = "512x512"
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    scheduler: str | None = None
    companion_id: str | None = None
    is_public: bool = False
    client_key: str | None = None


@dataclass(frozen=True, slots=True)
class ImageView:
    id: str
    user_id: str
    prompt: str
    negative_prompt: str
    style: str
    resolution: str
    width: int
    height: int
    seed: int
    steps: int
    guidance: float
    scheduler: str
    status: str
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

    @classmethod
    def of(
        cls,
        job: ImageJob,
        storage_url: str | None = None,
        thumbnail_url: str | None = None,
        is_favorite: bool = False,
    ) -> ImageView:
        p = job.parameters
        return cls(
            id=job.id,
            user_id=job.user_id,
            prompt=p.prompt,
            negative_prompt=p.negative_prompt,
            style=p.style.value,
            resolution=p.resolution.value,
            width=p.width,
            height=p.height,
            seed=p.seed,
            steps=p.steps,
            guidance=p.guidance,
            scheduler=p.scheduler.value,
            status=job.status.value,
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
        )


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


@dataclass(frozen=True, slots=True)
class ProcessOutcome:
    job_id: str
    status: str  # COMPLETED, FAILED, CANCELLED, SKIPPED
    detail: str = ""
