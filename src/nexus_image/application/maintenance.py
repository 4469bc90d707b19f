"""Maintenance: remove old FAILED jobs with their files; hand jobs whose lease expired back to
the queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from nexus_image.application.ports import (
    Clock,
    IdGenerator,
    ObjectStorage,
    UnitOfWork,
    UnitOfWorkFactory,
)
from nexus_image.application.storage_keys import image_key, thumbnail_key
from nexus_image.application.transactions import in_transaction, record
from nexus_image.application.views import delete_objects
from nexus_image.domain.job import ImageJob, JobStatus

FAILED_RETENTION = timedelta(hours=24)


@dataclass(slots=True)
class CleanupFailedJobs:
    """FAILED jobs older than 24 h disappear, rows and stored objects alike."""

    uow_factory: UnitOfWorkFactory
    storage: ObjectStorage
    clock: Clock
    retention: timedelta = FAILED_RETENTION
    batch_size: int = 500

    def execute(self, retention: timedelta | None = None) -> int:
        """Remove FAILED jobs older than `retention` (the configured one by default)."""
        cutoff = self.clock.now() - (self.retention if retention is None else retention)
        removed = 0
        while True:
            with self.uow_factory() as uow:
                jobs = uow.jobs.failed_before(cutoff, self.batch_size)
            if not jobs:
                return removed
            for job in jobs:
                self._remove(job)
            removed += len(jobs)

    def _remove(self, job: ImageJob) -> None:
        # A job that failed while storing may have left objects its row does not name.
        delete_objects(
            self.storage,
            [
                job.image_key,
                job.thumbnail_key,
                image_key(job.user_id, job.id),
                thumbnail_key(job.user_id, job.id, "webp"),
            ],
        )

        def work(uow: UnitOfWork) -> None:
            current = uow.jobs.get(job.id)
            if current is not None and current.status is JobStatus.FAILED:
                uow.favorites.remove_image_everywhere(job.id)
                uow.albums.remove_image_everywhere(job.id)
                uow.jobs.delete(job.id)

        in_transaction(self.uow_factory, work)


FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


@dataclass(slots=True)
class RecoverStalledJobs:
    """A running job whose lease expired lost its worker (the worker renews the lease while it
    generates): it is queued again, its request event re-emitted, until it was started
    `max_attempts` times; then it is FAILED with a refund."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    max_attempts: int = 3

    def execute(self, all_running: bool = False) -> tuple[int, int]:
        """(re-queued, failed). `all_running=True` hands back every running job, leased or not:
        for a process that knows nobody else can be running them (its queue died with it)."""
        cutoff = FAR_FUTURE if all_running else self.clock.now()
        with self.uow_factory() as uow:
            expired = uow.jobs.lease_expired(cutoff, 500)
        requeued = failed = 0
        for job in expired:
            outcome = self._recover(job.id, cutoff)
            requeued += outcome is JobStatus.QUEUED
            failed += outcome is JobStatus.FAILED
        return requeued, failed

    def next_expiry(self) -> datetime | None:
        """When the earliest lease ends: the next moment there may be something to recover."""
        with self.uow_factory() as uow:
            return uow.jobs.next_lease_expiry()

    def _recover(self, job_id: str, cutoff: datetime) -> JobStatus | None:
        def work(uow: UnitOfWork) -> JobStatus | None:
            job = uow.jobs.get(job_id)
            if job is None or not job.lease_expired(cutoff):
                return None  # finished, or renewed by its worker since it was listed
            lost = job.lose_worker(self.clock.now(), self.max_attempts, event_id=self.ids.new_id())
            record(uow, job, lost, self.clock)
            return job.status

        return in_transaction(self.uow_factory, work)
