"""Jobs that are still QUEUED wait for their turn again, after the queue itself was lost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nexus_image.application.ports import Clock, IdGenerator, UnitOfWork, UnitOfWorkFactory
from nexus_image.application.transactions import call_back, in_transaction

QUEUE_CAPACITY = 10_000


@dataclass(slots=True)
class RedeliverQueuedJobs:
    """An in-process queue dies with its process, but the jobs it held stay QUEUED (and paid
    for) in the database. On start, each of them dispatched to that queue is called back, so
    the dispatcher dispatches it again in its turn, and every waiting user is in their tier's
    rotation. A job delivered twice is harmless: workers skip jobs that are already past QUEUED."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    limit: int = QUEUE_CAPACITY

    def execute(self, created_before: datetime) -> int:
        """Every job QUEUED before `created_before` waits for its turn; returns how many."""

        def work(uow: UnitOfWork) -> int:
            now = self.clock.now()
            waiting = uow.jobs.queued_before(created_before, self.limit)
            for job in waiting:
                if job.dispatched_at is not None:
                    call_back(uow, job, self.clock)
                else:
                    uow.queue.enqueue(job.user_id, job.tier, now)
            return len(waiting)

        return in_transaction(self.uow_factory, work)
