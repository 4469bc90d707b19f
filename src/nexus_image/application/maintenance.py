"""Maintenance: remove old FAILED jobs with their files; hand stalled jobs back to the queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from nexus_image.application.ports import (
    Clock,
    IdGenerator,
    ObjectStorage,
    UnitOfWork,
    UnitOfWorkFactory,
)
from nexus_image.application.storage_keys import image_key, thumbnail_key
from nexus_image.application.transactions import fail_job, in_transaction, record
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


@dataclass(slots=True)
class RecoverStalledJobs:
    """A job PROCESSING for longer than `timeout` lost its worker: it is queued again (and its
    request event re-emitted) until `max_attempts`, then FAILED with a refund."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    timeout: timedelta = timedelta(minutes=10)
    max_attempts: int = 3

    def execute(self, timeout: timedelta | None = None) -> tuple[int, int]:
        """(re-queued, failed). `timeout=timedelta(0)` hands back every running job: for a
        process that knows nobody else can be running them (its queue died with it)."""
        cutoff = self.clock.now() - (self.timeout if timeout is None else timeout)
        with self.uow_factory() as uow:
            stalled = uow.jobs.stale_processing(cutoff, 500)
        requeued = failed = 0
        for job in stalled:
            if job.attempts >= self.max_attempts:
                outcome = fail_job(
                    self.uow_factory, self.clock, self.ids, job.id, "worker stopped answering", job.worker_id
                )
                failed += outcome.status == JobStatus.FAILED.value
            else:
                requeued += self._requeue(job.id)
        return requeued, failed

    def _requeue(self, job_id: str) -> bool:
        def work(uow: UnitOfWork) -> bool:
            job = uow.jobs.get(job_id)
            if job is None or job.status is not JobStatus.PROCESSING:
                return False
            record(uow, job, job.requeue(self.clock.now(), event_id=self.ids.new_id()), self.clock)
            return True

        return in_transaction(self.uow_factory, work)
