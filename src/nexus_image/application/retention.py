"""Retention per tier: images past their tier's retention lose their files; their rows stay."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from nexus_image.application.ports import Clock, ObjectStorage, UnitOfWork, UnitOfWorkFactory
from nexus_image.application.storage_keys import image_key, thumbnail_key
from nexus_image.application.transactions import in_transaction
from nexus_image.domain.job import ImageJob
from nexus_image.domain.retention import ExpirySelection, RetentionPolicy


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What a run removed, or (`dry_run`) would remove."""

    dry_run: bool
    images: int  # images whose files went (or would go)
    bytes: int  # their stored bytes as recorded (0 for images stored before sizes were recorded)
    sample: tuple[str, ...]  # the ids of the first of them
    by_tier: Mapping[str, int]  # images per tier
    finished: int  # images a stopped run had marked removed, whose objects this run deleted


@dataclass(slots=True)
class _Tally:
    sample_size: int
    images: int = 0
    bytes: int = 0
    sample: list[str] = field(default_factory=list)
    by_tier: dict[str, int] = field(default_factory=dict)
    finished: int = 0

    def add(self, jobs: list[ImageJob], sizes: Mapping[str, int]) -> None:
        for job in jobs:
            self.images += 1
            self.bytes += sizes.get(job.id, 0)
            self.by_tier[job.tier] = self.by_tier.get(job.tier, 0) + 1
            if len(self.sample) < self.sample_size:
                self.sample.append(job.id)

    def report(self, dry_run: bool) -> RetentionReport:
        return RetentionReport(
            dry_run, self.images, self.bytes, tuple(self.sample), dict(self.by_tier), self.finished
        )


@dataclass(slots=True)
class ApplyRetention:
    """A finished image older than its tier's `retention_days` (by `created_at`) loses its files
    (the PNG and the thumbnail) unless a protection the operator kept applies (its owner
    favorited it, it is in an album, it is public); its row stays as a tombstone
    (`data_removed_at`), which listings leave out.

    In bounded batches, each in its own transactions, in an order that is safe to stop anywhere:
    1. claim: in one transaction the batch is read again under the same rule (an image
       favorited, put in an album or made public since it was listed is kept, its files
       untouched) and each image still due is marked removed, its keys kept;
    2. its objects are deleted (one already missing is fine);
    3. its keys are cleared.
    No object is deleted before its row is marked, so a kept image never loses its files. A run
    stopped after a claim leaves rows marked with their keys: every run starts by finishing
    those. A storage outage stops the run (nothing is marked as deleted that was not)."""

    uow_factory: UnitOfWorkFactory
    storage: ObjectStorage
    clock: Clock
    policy: RetentionPolicy = field(default_factory=RetentionPolicy)
    batch_size: int = 200
    sample_size: int = 10

    def execute(self, dry_run: bool = False) -> RetentionReport:
        now = self.clock.now()
        tally = _Tally(self.sample_size)
        tally.finished = self._finish_stopped(dry_run)
        with self.uow_factory() as uow:
            in_use = uow.jobs.kept_tiers()
        for selection in self.policy.selections(now, in_use):
            self._apply(selection, now, dry_run, tally)
        return tally.report(dry_run)

    def _finish_stopped(self, dry_run: bool) -> int:
        """Delete the objects of rows a stopped run marked removed; how many rows."""
        finished = 0
        after: tuple[datetime, str] | None = None
        while True:
            with self.uow_factory() as uow:
                marked = uow.jobs.removal_pending(self.batch_size, after)
            if not marked:
                return finished
            last = marked[-1]
            assert last.data_removed_at is not None  # what `removal_pending` returns is marked
            after = (last.data_removed_at, last.id)
            if not dry_run:
                self._delete_objects(marked)
                self._forget_files([job.id for job in marked])
            finished += len(marked)

    def _apply(self, selection: ExpirySelection, now: datetime, dry_run: bool, tally: _Tally) -> None:
        after: tuple[datetime, str] | None = None
        while True:
            with self.uow_factory() as uow:
                batch = uow.jobs.expiring(selection, self.batch_size, after)
            if not batch:
                return
            after = (batch[-1].created_at, batch[-1].id)
            if dry_run:
                tally.add(batch, {job.id: job.stored_bytes for job in batch})
                continue
            claimed, sizes = self._claim(selection, batch, now)
            self._delete_objects(claimed)
            self._forget_files([job.id for job in claimed])
            tally.add(claimed, sizes)

    def _claim(
        self, selection: ExpirySelection, batch: list[ImageJob], now: datetime
    ) -> tuple[list[ImageJob], dict[str, int]]:
        """Mark the batch's images still due removed, in one transaction; those, and their bytes."""

        def work(uow: UnitOfWork) -> tuple[list[ImageJob], dict[str, int]]:
            due = uow.jobs.expiring(selection, len(batch), among=[job.id for job in batch])
            sizes = {job.id: job.stored_bytes for job in due}
            for job in due:
                job.remove_data(now)
                uow.jobs.save(job)
                uow.favorites.remove_image_everywhere(job.id)  # others' favorites of it
                uow.albums.remove_image_everywhere(job.id)  # where albums do not protect
            return due, sizes

        return in_transaction(self.uow_factory, work)

    def _delete_objects(self, jobs: list[ImageJob]) -> None:
        """Every object a job may have: those its row names, and where a job that failed while
        storing may have left some. StorageUnavailable stops the run."""
        for job in jobs:
            keys = [
                job.image_key,
                job.thumbnail_key,
                image_key(job.user_id, job.id),
                thumbnail_key(job.user_id, job.id, "webp"),
            ]
            for key in dict.fromkeys(k for k in keys if k):
                self.storage.delete(key)

    def _forget_files(self, job_ids: list[str]) -> None:
        def work(uow: UnitOfWork) -> None:
            for job in uow.jobs.list_by_ids(job_ids):
                if job.data_removed and (job.image_key or job.thumbnail_key):
                    job.forget_files()
                    uow.jobs.save(job)

        in_transaction(self.uow_factory, work)
