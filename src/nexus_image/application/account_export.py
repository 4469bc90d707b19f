"""A user's data as one zip (the right of access and to portability), made while it is sent.

The archive holds `images/<id>.png` for every COMPLETED image whose file is kept (the PNG as
stored, its generation parameters in its text chunks: it can be read back by
`POST /images/parameters` or AUTOMATIC1111), `images.json` with every image's record, and
`albums.json`. It is written entry by entry as the reader takes it: the user's images are read
a page at a time, each PNG is fetched from object storage when its turn comes, and the zip
writer writes onto a buffer that is emptied at each step. Memory stays at about one image
whatever the number of images (ZIP64 and data descriptors as needed); the records of
`images.json`, written as each image goes by, wait in a temporary file that spills to disk
past a small size."""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from nexus_image.application.errors import NotFound
from nexus_image.application.ports import (
    AuditRecord,
    Clock,
    ImageCursor,
    ObjectStorage,
    UnitOfWork,
    UnitOfWorkFactory,
)
from nexus_image.domain.album import Album
from nexus_image.domain.job import ImageJob, JobStatus

EXPORT_ACTION = "account.export"
PAGE = 100  # images read per transaction
SPOOL_BYTES = 256 * 1024  # images.json's records kept in memory up to this, then on disk
COPY_BYTES = 64 * 1024
ZIP_EPOCH = datetime(1980, 1, 1, tzinfo=UTC)  # the earliest time a zip entry can carry


class _Sink:
    """Where the zip writer writes: the pieces written since they were last taken. It cannot
    seek, so the writer puts each entry's sizes after its data (data descriptors)."""

    def __init__(self) -> None:
        self._pieces: list[bytes] = []
        self._offset = 0

    def write(self, data: bytes, /) -> int:
        piece = bytes(data)  # the same object when it is bytes already: no copy
        self._pieces.append(piece)
        self._offset += len(piece)
        return len(piece)

    def tell(self) -> int:
        return self._offset

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def take(self) -> list[bytes]:
        pieces, self._pieces = self._pieces, []
        return pieces


@dataclass(frozen=True, slots=True)
class _Page:
    jobs: list[ImageJob]
    albums: dict[str, list[str]]  # image id -> names of the owner's albums holding it
    favorites: set[str]


@dataclass(frozen=True, slots=True)
class AccountArchive:
    """An export opened: how many images it holds (when it was opened), and its bytes, made
    as they are read (iterate once)."""

    user_id: str
    images: int
    chunks: Iterator[bytes] = field(repr=False)


def _utc(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    at = max(moment.astimezone(UTC), ZIP_EPOCH)
    return (at.year, at.month, at.day, at.hour, at.minute, at.second)


def image_record(job: ImageJob, albums: list[str], favorite: bool, file: str | None) -> dict[str, Any]:
    """One image as images.json has it: its record and its parameters as the API names them."""
    width, height = job.parameters.output_size
    return {
        "id": job.id,
        "user_id": job.user_id,
        "status": job.status.value,
        "created_at": _utc(job.created_at),
        "started_at": _utc(job.started_at),
        "completed_at": _utc(job.completed_at),
        "is_public": job.is_public,
        "is_favorite": favorite,
        "albums": albums,
        "tokens_cost": job.tokens_cost,
        "width": width,
        "height": height,
        "failure_reason": job.failure_reason,
        "group_id": job.group_id,
        "companion_id": job.companion_id,
        "parameters": job.parameters.to_dict(),
        "file": file,  # its PNG in this archive; null when it has none (not completed, or removed)
    }


def _album_record(album: Album) -> dict[str, Any]:
    return {
        "id": album.id,
        "name": album.name,
        "created_at": _utc(album.created_at),
        "images": list(album.image_ids),
    }


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")


@dataclass(slots=True)
class ExportAccountData:
    """Anyone may export their own data, as often as they like; each export is audited (the
    HTTP layer records it opened; a stream that breaks part-way is recorded here)."""

    uow_factory: UnitOfWorkFactory
    storage: ObjectStorage
    clock: Clock
    page_size: int = PAGE

    def open(self, user_id: str) -> AccountArchive:
        """The first page is read here, so a database that cannot answer is an error before
        the first byte is sent."""
        with self.uow_factory() as uow:
            images = uow.jobs.list_by_user(user_id, 0, 1).total
            first = self._read(uow, user_id, None)
        return AccountArchive(user_id, images, self._archive(user_id, first))

    def _page(self, user_id: str, after: ImageCursor) -> _Page:
        with self.uow_factory() as uow:
            return self._read(uow, user_id, after)

    def _read(self, uow: UnitOfWork, user_id: str, after: ImageCursor | None) -> _Page:
        jobs = uow.account_data.images_after(user_id, after, self.page_size)
        ids = [job.id for job in jobs]
        favorites = {i for i in ids if uow.favorites.contains(user_id, i)}
        return _Page(jobs, uow.account_data.album_names(user_id, ids), favorites)

    def _archive(self, user_id: str, page: _Page) -> Iterator[bytes]:
        sink = _Sink()
        exported = 0
        try:
            with (
                tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as records,
                zipfile.ZipFile(sink, "w", allowZip64=True) as archive,
            ):
                while page.jobs:
                    for job in page.jobs:
                        file = self._add_png(archive, job)
                        record = image_record(
                            job, page.albums.get(job.id, []), job.id in page.favorites, file
                        )
                        records.write((b",\n" if exported else b"") + _json(record))
                        exported += 1
                        yield from sink.take()
                    last = page.jobs[-1]
                    page = self._page(user_id, (last.created_at, last.id))
                yield from self._add_records(archive, sink, records)
                with self.uow_factory() as uow:
                    albums = uow.albums.list_by_owner(user_id)
                listed = _json([_album_record(a) for a in albums])
                archive.writestr(self._entry("albums.json", zipfile.ZIP_DEFLATED), listed)
            yield from sink.take()  # the central directory, written as the archive closed
        except Exception as error:
            self._audit_broken(user_id, exported, error)
            raise

    def _entry(self, name: str, compression: int, at: datetime | None = None) -> zipfile.ZipInfo:
        entry = zipfile.ZipInfo(name, _zip_time(at or self.clock.now()))
        entry.compress_type = compression
        entry.external_attr = 0o644 << 16  # a plain file, readable by all, once unpacked
        return entry

    def _add_png(self, archive: zipfile.ZipFile, job: ImageJob) -> str | None:
        if job.status is not JobStatus.COMPLETED or job.image_key is None:
            return None
        try:
            data = self.storage.get(job.image_key)
        except NotFound:
            return None  # its file was removed (retention) after the row was read
        name = f"images/{job.id}.png"
        archive.writestr(self._entry(name, zipfile.ZIP_STORED, job.completed_at or job.created_at), data)
        return name

    def _add_records(self, archive: zipfile.ZipFile, sink: _Sink, records: IO[bytes]) -> Iterator[bytes]:
        """images.json, copied from the records file a slice at a time (its size is not known
        before it is written: ZIP64 allowed)."""
        records.seek(0)
        with archive.open(self._entry("images.json", zipfile.ZIP_DEFLATED), "w", force_zip64=True) as out:
            out.write(b"[\n")
            while chunk := records.read(COPY_BYTES):
                out.write(chunk)
                yield from sink.take()
            out.write(b"\n]\n")
        yield from sink.take()

    def _audit_broken(self, user_id: str, exported: int, error: Exception) -> None:
        code = getattr(error, "code", None)
        outcome = f"failed:{code}" if isinstance(code, str) else f"failed:{type(error).__name__}"
        detail = f"stopped after {exported} images: {error}"
        entry = AuditRecord.cut(
            user_id, EXPORT_ACTION, f"account:{user_id}", outcome, self.clock.now(), detail
        )
        try:
            with self.uow_factory() as uow:
                uow.audit.record(entry)
                uow.commit()
        except Exception:
            pass  # the stream's own error is the one to raise
