"""Stage 1 of a job on the worker: claim it under a lease, keep the lease, and the one rule
for whether a job is still ours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeGuard

from nexus_image.application.errors import ConcurrentUpdate, DatabaseUnavailable
from nexus_image.application.ports import (
    Clock,
    IdGenerator,
    Metrics,
    NullMetrics,
    UnitOfWork,
    UnitOfWorkFactory,
)
from nexus_image.application.process_outcome import Outcome, ProcessOutcome
from nexus_image.application.transactions import in_transaction, record
from nexus_image.domain.job import ImageJob, JobStatus


@dataclass(slots=True)
class ClaimJobs:
    """A QUEUED job becomes PROCESSING under this worker, held until its lease ends unless the
    worker renews it; a job already past QUEUED is skipped, so a duplicate delivery is harmless.
    A job is ours while it is PROCESSING under our worker id, and only then: that one rule
    decides whether we keep rendering it, renew its lease, or settle it.

    A job past its deadline is never started: it ends EXPIRED (refunded) instead. Jobs that
    came from the transport (`dispatched_only`) start only if the dispatcher dispatched them: a
    stale message, for a job handed back or paused since, is skipped (the job waits for its
    turn again). A direct call (`ProcessJobs.execute`) runs the job it names."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    worker_id: str = "worker"
    lease: timedelta = timedelta(seconds=30)
    metrics: Metrics = field(default_factory=NullMetrics)
    _renewed_at: datetime | None = field(default=None, init=False, repr=False)

    def ours(self, job: ImageJob | None) -> TypeGuard[ImageJob]:
        """Still running under this worker: nobody cancelled, failed, recovered or re-took it."""
        return job is not None and job.is_held_by(self.worker_id)

    def start_all(
        self, job_ids: Sequence[str], dispatched_only: bool = False
    ) -> list[ImageJob | ProcessOutcome]:
        """Each job started (in its own transaction), or why it was skipped; the leases count
        as renewed now."""
        claimed = [self.start(job_id, dispatched_only) for job_id in job_ids]
        self._renewed_at = self.clock.now()
        return claimed

    def start(self, job_id: str, dispatched_only: bool = False) -> ImageJob | ProcessOutcome:
        def work(uow: UnitOfWork) -> ImageJob | ProcessOutcome:
            job = uow.jobs.get(job_id)
            if job is None:
                return ProcessOutcome(job_id, Outcome.SKIPPED, "unknown job")
            if job.status is not JobStatus.QUEUED:
                return ProcessOutcome(job_id, Outcome.SKIPPED, f"already {job.status.value}")
            now = self.clock.now()
            if job.overdue(now):
                record(uow, job, job.expire(now, event_id=self.ids.new_id()), self.clock)
                return ProcessOutcome(job_id, Outcome.EXPIRED, "its deadline passed before it started")
            if dispatched_only and not job.dispatched:
                return ProcessOutcome(job_id, Outcome.SKIPPED, "not dispatched: it waits for its turn")
            started = job.start(now, self.worker_id, lease_until=now + self.lease, event_id=self.ids.new_id())
            record(uow, job, started, self.clock)
            return job

        claimed = in_transaction(self.uow_factory, work)
        if isinstance(claimed, ImageJob):
            self.metrics.queue_waited(claimed.tier, (self.clock.now() - claimed.created_at).total_seconds())
        elif claimed.status is Outcome.EXPIRED:
            self.metrics.job_expired(self._tier_of(job_id))
        return claimed

    def _tier_of(self, job_id: str) -> str:
        with self.uow_factory() as uow:
            job = uow.jobs.get(job_id)
        return job.tier if job is not None else "unknown"

    def still_held(self, jobs: list[ImageJob]) -> list[ImageJob]:
        """The jobs of `jobs` that are still ours, read in one query."""
        with self.uow_factory() as uow:
            current = {job.id: job for job in uow.jobs.list_by_ids([job.id for job in jobs])}
        return [job for job in jobs if self.ours(current.get(job.id))]

    def keep(self, held: list[ImageJob], progress: tuple[int, int] | None = None) -> None:
        """Renew the leases of the jobs of `held` still ours, a third of a lease after the last
        renewal: one write per batch every few seconds, never one per step. `progress` (steps
        done, of how many) is noted with it: what a proportional refund on cancel reads."""
        now = self.clock.now()
        if self._renewed_at is not None and now - self._renewed_at < self.lease / 3:
            return
        self._renewed_at = now

        def work(uow: UnitOfWork) -> None:
            for job in held:
                current = uow.jobs.get(job.id)
                if self.ours(current) and current.renew_lease(self.worker_id, now + self.lease, progress):
                    uow.jobs.save(current)

        try:
            in_transaction(self.uow_factory, work)
        except (DatabaseUnavailable, ConcurrentUpdate):
            self._renewed_at = None  # try again at the next step; the lease has time left
