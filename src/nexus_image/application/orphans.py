"""Objects with no row: an image stored just before a crash kept its job from completing, an
upload stored just before its row failed, a delete that removed the row and then lost the
storage. They are found by walking the storage's folders, and removed once old enough."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from nexus_image.application.ports import Clock, ListedObject, ObjectStorage, UnitOfWorkFactory
from nexus_image.application.storage_keys import upload_key

FOLDERS = ("images/", "thumbnails/", "uploads/")  # every object the service writes is in one


@dataclass(frozen=True, slots=True)
class OrphanReport:
    dry_run: bool
    seen: int  # objects looked at
    removed: int  # objects with no row, older than the grace period: removed (or would be)
    young: int  # objects with no row yet, younger than the grace period: left for a later run
    sample: tuple[str, ...]  # the first keys removed


@dataclass(slots=True)
class SweepOrphans:
    """Walks each folder in pages of `batch_size` keys. An object is an orphan when no row
    names it: no job whose image or thumbnail key it is, no upload it holds. Only one written
    more than `grace` ago is removed: a worker stores a finished image before the transaction
    that records it commits, so a young object without a row may be one about to have it.
    Each page is read in one short transaction; a storage outage stops the run (what it removed
    stays removed; the next run goes on)."""

    uow_factory: UnitOfWorkFactory
    storage: ObjectStorage
    clock: Clock
    grace: timedelta = timedelta(hours=1)
    batch_size: int = 500
    sample_size: int = 10
    _sample: list[str] = field(default_factory=list, init=False, repr=False)

    def execute(self, dry_run: bool = False) -> OrphanReport:
        self._sample = []
        cutoff = self.clock.now() - self.grace
        seen = removed = young = 0
        for folder in FOLDERS:
            after: str | None = None
            while page := self.storage.listing(folder, after, self.batch_size):
                after = page[-1].key
                seen += len(page)
                named = self._named(page)
                unnamed = [o for o in page if o.key not in named]
                old = [o.key for o in unnamed if o.written_at < cutoff]
                young += len(unnamed) - len(old)
                for key in old:
                    if not dry_run:
                        self.storage.delete(key)
                    if len(self._sample) < self.sample_size:
                        self._sample.append(key)
                removed += len(old)
        return OrphanReport(dry_run, seen, removed, young, tuple(self._sample))

    def _named(self, page: list[ListedObject]) -> set[str]:
        """The keys of `page` some row names. A key's last part is its job's or upload's id."""
        ids = {o.key.rpartition("/")[2].partition(".")[0] for o in page}
        with self.uow_factory() as uow:
            uow.reads_only()
            jobs = uow.jobs.list_by_ids(sorted(ids))
            uploads = uow.uploads.list_by_ids(ids)
        named = {k for j in jobs for k in (j.image_key, j.thumbnail_key) if k}
        named.update(upload_key(u.user_id, u.id) for u in uploads)
        return named
