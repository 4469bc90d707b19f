"""Erasing a user (the right to erasure): everything that names them goes, except their token
ledger and the audit trail, which are kept under a one-way pseudonym.

Each step works in bounded batches, each batch its own transaction, and is idempotent: a run
cut short (a crash, an outage of the database or of object storage) and run again finishes
the job, and a run after a complete one finds nothing left and answers the same."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nexus_image.application.errors import StorageUnavailable
from nexus_image.application.ports import (
    AuditRecord,
    Clock,
    IdGenerator,
    ObjectStorage,
    UnitOfWork,
    UnitOfWorkFactory,
)
from nexus_image.application.ports.audit import ACTING_VIA
from nexus_image.application.storage_keys import upload_key, user_folders, user_prefix
from nexus_image.application.transactions import in_transaction, record
from nexus_image.domain.erasure import is_pseudonym, pseudonym_of, renamed
from nexus_image.domain.errors import InvalidValue

ERASE_ACTION = "account.erase"
BATCH = 100  # rows (or images, or objects) per transaction


@dataclass(frozen=True, slots=True)
class Erasure:
    """What one run did; a run after a complete one finds nothing left (all zero)."""

    pseudonym: str  # what stands for the user in the ledger and the audit trail from now on
    cancelled: int  # jobs still queued or running, cancelled (and refunded) first
    images: int
    uploads: int
    rows: int  # albums, favorites, keys, presets, webhooks, limits, queue and outbox rows
    strays: int  # objects left in the user's folders without a row, removed too
    renamed: int  # the account and ledger rows now under the pseudonym

    @property
    def detail(self) -> str:
        return (
            f"{self.cancelled} cancelled, {self.images} images, {self.uploads} uploads, "
            f"{self.rows} other rows, {self.strays} stray objects removed; {self.renamed} kept "
            "under the pseudonym"
        )


@dataclass(slots=True)
class EraseUser:
    """Erase `user_id`, for themselves or by an operator (`actor`). In order: their running
    and queued jobs are cancelled (refunded, as any cancel); their images go, files first then
    rows (so a run cut short never leaves a file nobody knows of), with anyone's favorites and
    album entries of them; their uploads likewise; every other row naming them; whatever is
    still in their storage folders; then their account and ledger move to their pseudonym and
    the audit trail names the pseudonym wherever it named them. One audit row records the run
    (success or failure) under the pseudonym, never the id."""

    uow_factory: UnitOfWorkFactory
    storage: ObjectStorage
    clock: Clock
    ids: IdGenerator
    key: Callable[[], bytes]  # the pseudonyms' HMAC key, read when first needed
    batch: int = BATCH

    def pseudonym(self, user_id: str) -> str:
        return pseudonym_of(self.key(), user_id)

    def execute(self, user_id: str, actor: str | None = None, note: str = "") -> Erasure:
        """`actor`: the operator erasing someone (None: the user themself). `note`: what the
        audit row should add (the request it came from)."""
        if not user_id.strip():
            raise InvalidValue("user_id", "name the user to erase")
        if is_pseudonym(user_id):
            raise InvalidValue("user_id", f"{user_id} is already an erased user's pseudonym")
        token = self.pseudonym(user_id)
        who = token if actor is None or actor == user_id else actor
        try:
            erasure = Erasure(
                pseudonym=token,
                cancelled=self._cancel_active(user_id),
                images=self._images(user_id),
                uploads=self._uploads(user_id),
                rows=self._repeat(lambda uow: uow.account_data.erase_rows(user_id, self.batch)),
                strays=self._sweep(user_id),
                renamed=self._repeat(lambda uow: uow.account_data.pseudonymise(user_id, token, self.batch)),
            )
            self._rename_in_audit(user_id, token)
        except Exception as error:
            # Object keys in the message name the user's folder: its name goes too.
            reason = renamed(renamed(str(error), user_id, token), user_prefix(user_id), token)
            try:
                self._audit(user_id, who, _failed(error), _joined(note, reason))
            except Exception:
                pass  # the erasure's own error is the one to raise
            raise
        self._audit(user_id, who, "success", _joined(note, erasure.detail))
        return erasure

    def _repeat(self, step: Callable[[UnitOfWork], int]) -> int:
        """Run `step` in a transaction of its own until it finds nothing more to do."""
        total = 0
        while done := in_transaction(self.uow_factory, step):
            total += done
        return total

    def _cancel_active(self, user_id: str) -> int:
        def cancel(uow: UnitOfWork) -> int:
            active = uow.jobs.active_of(user_id, self.batch)
            for job in active:
                record(uow, job, job.cancel(self.clock.now(), event_id=self.ids.new_id()), self.clock)
            return len(active)

        return self._repeat(cancel)

    def _images(self, user_id: str) -> int:
        done = 0
        while True:
            with self.uow_factory() as uow:
                batch = uow.account_data.images_after(user_id, None, self.batch)
            if not batch:
                return done
            self._delete_objects([key for job in batch for key in (job.image_key, job.thumbnail_key)])
            ids = [job.id for job in batch]
            started = [job.id for job in batch if not job.status.is_terminal]  # since the first step

            def forget(uow: UnitOfWork, ids: list[str] = ids, started: list[str] = started) -> None:
                for job in uow.jobs.list_by_ids(started):
                    if not job.status.is_terminal:
                        record(uow, job, job.cancel(self.clock.now(), event_id=self.ids.new_id()), self.clock)
                uow.account_data.delete_images(ids)

            in_transaction(self.uow_factory, forget)
            done += len(ids)

    def _uploads(self, user_id: str) -> int:
        done = 0
        while True:
            with self.uow_factory() as uow:
                batch = [upload.id for upload in uow.uploads.list_by_user(user_id, self.batch)]
            if not batch:
                return done
            self._delete_objects([upload_key(user_id, upload_id) for upload_id in batch])

            def forget(uow: UnitOfWork, ids: list[str] = batch) -> None:
                for upload_id in ids:
                    uow.uploads.delete(upload_id)

            in_transaction(self.uow_factory, forget)
            done += len(batch)

    def _delete_objects(self, keys: list[str | None]) -> None:
        """StorageUnavailable stops the run: its rows stay, so the next run finds the files."""
        for key in dict.fromkeys(k for k in keys if k):
            self.storage.delete(key)

    def _sweep(self, user_id: str) -> int:
        """Objects still in the user's folders (a worker's upload whose job was settled
        elsewhere, a delete whose storage call failed): removed too."""
        removed = 0
        for folder in user_folders(user_id):
            seen: list[str] = []
            while keys := self.storage.keys(folder, self.batch):
                if keys == seen:  # deleted, and listed again: the store is not deleting them
                    raise StorageUnavailable(f"object storage keeps {len(keys)} objects it deleted")
                self._delete_objects(list(keys))
                removed += len(keys)
                seen = keys
        return removed

    def _rename_in_audit(self, user_id: str, token: str) -> None:
        after: int | None = None
        while True:

            def rename(uow: UnitOfWork, start: int | None = after) -> int | None:
                return uow.account_data.pseudonymise_audit(user_id, token, start, self.batch)

            after = in_transaction(self.uow_factory, rename)
            if after is None:
                return

    def _audit(self, user_id: str, actor: str, outcome: str, detail: str) -> None:
        token = self.pseudonym(user_id)
        via = renamed(ACTING_VIA.get(), user_id, token)
        entry = AuditRecord.cut(
            actor, ERASE_ACTION, f"account:{token}", outcome, self.clock.now(), detail, via=via
        )

        def write(uow: UnitOfWork) -> None:
            uow.audit.record(entry)

        in_transaction(self.uow_factory, write)


def _failed(error: BaseException) -> str:
    code = getattr(error, "code", None)
    return f"failed:{code}" if isinstance(code, str) else f"failed:{type(error).__name__}"


def _joined(note: str, detail: str) -> str:
    return f"{note}: {detail}" if note else detail
