"""Reading and managing one's images: get, list, gallery, visibility, favorites, delete."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_image.application.cancel import cancel_in
from nexus_image.application.dto import ImageView
from nexus_image.application.errors import NotFound, StorageUnavailable
from nexus_image.application.ports import (
    Clock,
    IdGenerator,
    ObjectStorage,
    Page,
    UnitOfWork,
    UnitOfWorkFactory,
)
from nexus_image.application.transactions import in_transaction
from nexus_image.domain.errors import AccessDenied, InvalidValue
from nexus_image.domain.job import ImageJob, JobStatus

MAX_PAGE_SIZE = 100


def check_page(page: int, size: int) -> None:
    if page < 0:
        raise InvalidValue("page", "page must be 0 or more")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidValue("size", f"size must be between 1 and {MAX_PAGE_SIZE}")


def is_visible(job: ImageJob, user_id: str | None) -> bool:
    try:
        job.ensure_visible_to(user_id)
    except AccessDenied:
        return False
    return True


def load_job(uow: UnitOfWork, job_id: str) -> ImageJob:
    job = uow.jobs.get(job_id)
    if job is None:
        raise NotFound("image", job_id)
    return job


@dataclass(slots=True)
class ImageQueries:
    """An image is visible to its owner, and to anyone once it is public and completed."""

    uow_factory: UnitOfWorkFactory
    storage: ObjectStorage

    def view(self, job: ImageJob, is_favorite: bool = False) -> ImageView:
        if job.status is JobStatus.COMPLETED and job.image_key and job.thumbnail_key:
            return ImageView.of(
                job,
                self.storage.url(job.image_key, job.is_public),
                self.storage.url(job.thumbnail_key, job.is_public),
                is_favorite,
            )
        return ImageView.of(job, is_favorite=is_favorite)

    def get(self, user_id: str | None, job_id: str) -> ImageView:
        with self.uow_factory() as uow:
            job = load_job(uow, job_id)
            job.ensure_visible_to(user_id)
            favorite = user_id is not None and uow.favorites.contains(user_id, job_id)
        return self.view(job, favorite)

    def content(self, user_id: str | None, job_id: str, thumbnail: bool = False) -> tuple[bytes, str]:
        """The stored bytes and content type of the image or its thumbnail."""
        with self.uow_factory() as uow:
            job = load_job(uow, job_id)
        job.ensure_visible_to(user_id)
        key = job.thumbnail_key if thumbnail else job.image_key
        if job.status is not JobStatus.COMPLETED or key is None:
            raise NotFound("image file", job_id)
        content_type = "image/png" if key.endswith(".png") else "image/" + key.rsplit(".", 1)[-1]
        return self.storage.get(key), content_type

    def list_mine(self, user_id: str, page: int = 0, size: int = 20) -> Page[ImageView]:
        check_page(page, size)
        with self.uow_factory() as uow:
            found = uow.jobs.list_by_user(user_id, page, size)
            favorites = {j.id for j in found.items if uow.favorites.contains(user_id, j.id)}
        return Page([self.view(j, j.id in favorites) for j in found.items], found.total, page, size)

    def gallery(self, page: int = 0, size: int = 20) -> Page[ImageView]:
        check_page(page, size)
        with self.uow_factory() as uow:
            found = uow.jobs.list_public(page, size)
        return Page([self.view(j) for j in found.items], found.total, page, size)

    def favorites(self, user_id: str, page: int = 0, size: int = 20) -> Page[ImageView]:
        check_page(page, size)
        with self.uow_factory() as uow:
            ids = uow.favorites.list_ids(user_id, page, size)
            jobs = {j.id: j for j in uow.jobs.list_by_ids(ids.items)}
        # A favorite of someone else's image that went private since stays listed for nobody.
        visible = [jobs[i] for i in ids.items if i in jobs and is_visible(jobs[i], user_id)]
        return Page([self.view(j, True) for j in visible], ids.total, page, size)


@dataclass(slots=True)
class ManageImages:
    """Owners change visibility and delete; anyone may favorite what they can see."""

    uow_factory: UnitOfWorkFactory
    storage: ObjectStorage
    clock: Clock
    ids: IdGenerator

    def set_visibility(self, user_id: str, job_id: str, public: bool) -> ImageView:
        def work(uow: UnitOfWork) -> ImageJob:
            job = load_job(uow, job_id)
            job.ensure_owner(user_id)
            job.set_visibility(public)
            uow.jobs.save(job)
            return job

        return ImageView.of(in_transaction(self.uow_factory, work))

    def favorite(self, user_id: str, job_id: str, on: bool = True) -> None:
        def work(uow: UnitOfWork) -> None:
            job = load_job(uow, job_id)
            if on:
                job.ensure_visible_to(user_id)
                uow.favorites.add(user_id, job_id, self.clock.now())
            else:
                if not uow.favorites.contains(user_id, job_id):
                    # Answer as for any image the caller cannot see: never confirm that
                    # somebody else's private image exists.
                    job.ensure_visible_to(user_id)
                uow.favorites.remove(user_id, job_id)

        in_transaction(self.uow_factory, work)

    def delete(self, user_id: str, job_id: str) -> None:
        """A running job is cancelled (and refunded) first; its stored files go with it."""

        def work(uow: UnitOfWork) -> ImageJob:
            job = load_job(uow, job_id)
            job.ensure_owner(user_id)
            if not job.status.is_terminal:
                cancel_in(uow, job, self.clock, self.ids)
            uow.favorites.remove_image_everywhere(job_id)
            uow.albums.remove_image_everywhere(job_id)
            uow.jobs.delete(job_id)
            return job

        job = in_transaction(self.uow_factory, work)
        delete_objects(self.storage, [job.image_key, job.thumbnail_key])


def delete_objects(storage: ObjectStorage, keys: list[str | None]) -> None:
    for key in dict.fromkeys(k for k in keys if k):
        try:
            storage.delete(key)
        except StorageUnavailable:
            pass  # an orphaned object is harmless once its row is gone
