"""Offer jobs that are still QUEUED to the queue again, after the queue itself was lost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nexus_image.application.ports import Clock, IdGenerator, UnitOfWork, UnitOfWorkFactory
from nexus_image.application.transactions import in_transaction

QUEUE_CAPACITY = 10_000


@dataclass(slots=True)
class RedeliverQueuedJobs:
    """An in-process queue dies with its process, but the jobs it held stay QUEUED (and paid
    for) in the database. On start, each of them gets its request event again through the
    outbox, so the relay hands it to the new queue. A job delivered twice is harmless: workers
    skip jobs that are already past QUEUED."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    limit: int = QUEUE_CAPACITY

    def execute(self, created_before: datetime) -> int:
        """Re-emit the request of every job QUEUED before `created_before`; returns how many."""

        def work(uow: UnitOfWork) -> int:
            waiting = uow.jobs.queued_before(created_before, self.limit)
            for job in waiting:
                for event in job.offer_again(self.clock.now(), event_id=self.ids.new_id()).events:
                    uow.outbox.add(event)
            return len(waiting)

        return in_transaction(self.uow_factory, work)
