"""Who may see and change what, one rule for every caller (HTTP, CLI, library): an image is
visible to its owner, and to anyone once it is public and COMPLETED; an album and an upload
only to its owner; a preset to its owner, and to anyone while it is public. What the caller
cannot see at all answers exactly like something missing (NotVisible, a NotFound); a change
only the owner may make to a visible image or preset is AccessDenied."""

from __future__ import annotations

from nexus_image.application.errors import MissingUpload, NotFound, NotVisible
from nexus_image.application.ports import UnitOfWork
from nexus_image.domain.album import Album
from nexus_image.domain.errors import InvalidValue
from nexus_image.domain.job import ImageJob
from nexus_image.domain.preset import Preset
from nexus_image.domain.upload import Upload

MAX_PAGE_SIZE = 100
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # a file sent: an upload, a PNG to read parameters from


def check_page(page: int, size: int) -> None:
    if page < 0:
        raise InvalidValue("page", "page must be 0 or more")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidValue("size", f"size must be between 1 and {MAX_PAGE_SIZE}")


def load_job(uow: UnitOfWork, job_id: str) -> ImageJob:
    """Any job, whoever owns it: for workers and maintenance, never for a caller."""
    job = uow.jobs.get(job_id)
    if job is None:
        raise NotFound("image", job_id)
    return job


def visible_job(uow: UnitOfWork, job_id: str, user_id: str | None) -> ImageJob:
    return visible(uow.jobs.get(job_id), job_id, user_id)


def visible(job: ImageJob | None, job_id: str, user_id: str | None) -> ImageJob:
    """`job` (read as `job_id`) if the caller may see it; another user's private one answers
    as a missing one."""
    if job is None:
        raise NotFound("image", job_id)
    if not job.is_visible_to(user_id):
        raise NotVisible("image", job_id)
    return job


def owned_job(uow: UnitOfWork, job_id: str, user_id: str) -> ImageJob:
    """The caller's own job; someone else's public one is AccessDenied, a private one hidden."""
    job = visible_job(uow, job_id, user_id)
    job.ensure_owner(user_id)
    return job


def owned_album(uow: UnitOfWork, album_id: str, owner_id: str) -> Album:
    album = uow.albums.get(album_id)
    if album is None:
        raise NotFound("album", album_id)
    if album.owner_id != owner_id:
        raise NotVisible("album", album_id)
    return album


def resolve_preset(uow: UnitOfWork, user_id: str, preset_id: str) -> Preset:
    """The preset `user_id` may use: their own, or anybody's public one; any other answers like
    a missing one (NotFound, kind "preset"). What a generation request naming a preset calls,
    in its own unit of work."""
    preset = uow.presets.get(preset_id)
    if preset is None:
        raise NotFound("preset", preset_id)
    if not preset.visible_to(user_id):
        raise NotVisible("preset", preset_id)
    return preset


def owned_preset(uow: UnitOfWork, user_id: str, preset_id: str) -> Preset:
    """The caller's own preset; somebody else's public one is AccessDenied, a private one hidden."""
    preset = resolve_preset(uow, user_id, preset_id)
    preset.ensure_owner(user_id)
    return preset


def owned_upload(uow: UnitOfWork, user_id: str, upload_id: str, field: str) -> Upload:
    """The caller's upload `upload_id`; somebody else's answers exactly like a missing one."""
    upload = uow.uploads.get(upload_id)
    if upload is None or not upload.visible_to(user_id):
        raise MissingUpload(upload_id, field)
    return upload
