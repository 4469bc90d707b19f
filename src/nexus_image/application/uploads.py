"""Uploads: pictures a user sends to start an image from (image to image) or to mask one
(inpainting). Each is checked (format, damage, size) before it is kept, stored as PNG under
its owner, and counted against the owner's allowance; nobody else can see or use it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from nexus_image.application.access import MAX_UPLOAD_BYTES, owned_upload
from nexus_image.application.errors import PayloadTooLarge, StorageUnavailable
from nexus_image.application.ports import (
    Clock,
    IdGenerator,
    ImageDecoder,
    ObjectStorage,
    UnitOfWork,
    UnitOfWorkFactory,
)
from nexus_image.application.storage_keys import upload_key
from nexus_image.application.transactions import account_for, in_transaction
from nexus_image.domain.upload import Upload, UploadAllowance

MAX_UPLOAD_SIDE = 2048
LISTED = 200


@dataclass(frozen=True, slots=True)
class UploadView:
    id: str
    width: int
    height: int
    size: int
    source_format: str
    content_type: str
    created_at: datetime
    url: str


@dataclass(frozen=True, slots=True)
class UploadsView:
    items: list[UploadView]
    count: int
    bytes_used: int
    max_count: int
    max_bytes: int


@dataclass(slots=True)
class ManageUploads:
    uow_factory: UnitOfWorkFactory
    storage: ObjectStorage
    decoder: ImageDecoder
    ids: IdGenerator
    clock: Clock
    allowance: UploadAllowance = field(default_factory=UploadAllowance)
    max_bytes: int = MAX_UPLOAD_BYTES
    max_side: int = MAX_UPLOAD_SIDE
    welcome_grant: int = 0

    def _view(self, upload: Upload) -> UploadView:
        key = upload_key(upload.user_id, upload.id)
        return UploadView(
            upload.id,
            upload.width,
            upload.height,
            upload.size,
            upload.source_format,
            upload.content_type,
            upload.created_at,
            self.storage.url(key, public=False),
        )

    def upload(self, user_id: str, data: bytes, mask_from_alpha: bool = False) -> UploadView:
        """Check, store, then record: the row is written (with the allowance checked under the
        owner's account row, so two uploads at once cannot both take the last room) only once
        the object is stored, and the object is removed again when the row cannot be. With
        `mask_from_alpha`, a mask drawn in transparency is stored as a mask of ours (see
        `ImageDecoder.inspect`)."""
        if len(data) > self.max_bytes:
            raise PayloadTooLarge(
                "file", f"uploads may be at most {self.max_bytes} bytes; this one is {len(data)}"
            )
        picture = self.decoder.inspect(data, self.max_side, mask_from_alpha)
        upload = Upload(
            self.ids.new_id(),
            user_id,
            picture.width,
            picture.height,
            len(picture.png),
            picture.source_format,
            self.clock.now(),
        )
        self.allowed(user_id, upload.size)  # before storing: a full allowance stores nothing
        key = upload_key(user_id, upload.id)
        self.storage.put(key, picture.png, upload.content_type, {"user-id": user_id, "upload-id": upload.id})

        def work(uow: UnitOfWork) -> None:
            self._room(uow, user_id, upload.size)
            uow.uploads.add(upload)

        try:
            in_transaction(self.uow_factory, work)
        except BaseException:
            self._discard(key)
            raise
        return self._view(upload)

    def allowed(self, user_id: str, size: int) -> None:
        with self.uow_factory() as uow:
            count, used = uow.uploads.usage(user_id)
        self.allowance.require_room(count, used, size)

    def _room(self, uow: UnitOfWork, user_id: str, size: int) -> None:
        # The owner's account row orders their uploads: written here (opened, or saved
        # unchanged, which moves its version), so a concurrent upload's write waits or fails
        # and that upload is re-run, seeing this one.
        existing = uow.accounts.get(user_id)
        if existing is None:
            account_for(uow, user_id, self.welcome_grant, self.clock)
        else:
            uow.accounts.save(existing)
        count, used = uow.uploads.usage(user_id)
        self.allowance.require_room(count, used, size)

    def get(self, user_id: str, upload_id: str) -> UploadView:
        with self.uow_factory() as uow:
            return self._view(owned_upload(uow, user_id, upload_id, "upload_id"))

    def content(self, user_id: str, upload_id: str) -> bytes:
        with self.uow_factory() as uow:
            owned_upload(uow, user_id, upload_id, "upload_id")
        return self.storage.get(upload_key(user_id, upload_id))

    def list(self, user_id: str) -> UploadsView:
        with self.uow_factory() as uow:
            uploads = uow.uploads.list_by_user(user_id, LISTED)
            count, used = uow.uploads.usage(user_id)
        return UploadsView(
            [self._view(u) for u in uploads], count, used, self.allowance.max_count, self.allowance.max_bytes
        )

    def delete(self, user_id: str, upload_id: str) -> None:
        """The row first (the upload is gone for new requests at once), then the object; a job
        already queued with it fails when it starts, and is refunded."""

        def work(uow: UnitOfWork) -> None:
            owned_upload(uow, user_id, upload_id, "upload_id")
            uow.uploads.delete(upload_id)

        in_transaction(self.uow_factory, work)
        self._discard(upload_key(user_id, upload_id))

    def _discard(self, key: str) -> None:
        try:
            self.storage.delete(key)
        except StorageUnavailable:
            pass  # an object without a row is never served; the storage keeps it until a cleanup
