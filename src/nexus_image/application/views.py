"""What callers get back for a job: its view, with download URLs once it is COMPLETED."""

from __future__ import annotations

from nexus_image.application.dto import ImageView
from nexus_image.application.errors import StorageUnavailable
from nexus_image.application.ports import ObjectStorage
from nexus_image.domain.job import ImageJob, JobStatus


def image_view(storage: ObjectStorage, job: ImageJob, is_favorite: bool = False) -> ImageView:
    if job.status is JobStatus.COMPLETED and job.image_key and job.thumbnail_key:
        return ImageView.of(
            job,
            storage.url(job.image_key, job.is_public),
            storage.url(job.thumbnail_key, job.is_public),
            is_favorite,
        )
    return ImageView.of(job, is_favorite=is_favorite)


def delete_objects(storage: ObjectStorage, keys: list[str | None]) -> None:
    for key in dict.fromkeys(k for k in keys if k):
        try:
            storage.delete(key)
        except StorageUnavailable:
            pass  # an orphaned object is harmless once its row is gone
