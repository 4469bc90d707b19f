"""What callers get back for a job: its view, with download URLs once it is COMPLETED (and
until retention removes its files), and when its tier's retention lets it expire."""

from __future__ import annotations

from nexus_image.application.dto import ImageView
from nexus_image.application.errors import StorageUnavailable
from nexus_image.application.ports import ObjectStorage
from nexus_image.domain.job import ImageJob, JobStatus
from nexus_image.domain.queue import TierPolicy
from nexus_image.domain.retention import expires_at


def image_view(
    storage: ObjectStorage, job: ImageJob, is_favorite: bool = False, tiers: TierPolicy | None = None
) -> ImageView:
    """`tiers`: the configured tiers, for `expires_at` (none given: no expiry shown)."""
    expiry = expires_at(job, tiers) if tiers is not None else None
    if job.status is JobStatus.COMPLETED and job.image_key and job.thumbnail_key and not job.data_removed:
        return ImageView.of(
            job,
            storage.url(job.image_key, job.is_public),
            storage.url(job.thumbnail_key, job.is_public),
            is_favorite,
            expires_at=expiry,
        )
    return ImageView.of(job, is_favorite=is_favorite, expires_at=expiry)


def job_view(job: ImageJob, tiers: TierPolicy | None = None) -> ImageView:
    """A view without URLs (a job just requested, cancelled or changed), with its expiry."""
    return ImageView.of(job, expires_at=expires_at(job, tiers) if tiers is not None else None)


def delete_objects(storage: ObjectStorage, keys: list[str | None]) -> None:
    for key in dict.fromkeys(k for k in keys if k):
        try:
            storage.delete(key)
        except StorageUnavailable:
            pass  # an orphaned object is harmless once its row is gone
