"""Cancel a job: the owner gets the exact cost back; a running job stops at its next step."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_image.application.dto import ImageView
from nexus_image.application.errors import Conflict, NotFound
from nexus_image.application.ports import Clock, IdGenerator, UnitOfWork, UnitOfWorkFactory
from nexus_image.application.transactions import account_for, in_transaction
from nexus_image.domain.events import GenerationCancelled
from nexus_image.domain.job import ImageJob


def cancel_in(uow: UnitOfWork, job: ImageJob, clock: Clock, ids: IdGenerator) -> None:
    """Cancel `job` inside an open unit of work: status, refund and event together."""
    if job.status.is_terminal:
        raise Conflict(f"image {job.id} is already {job.status.value} and cannot be cancelled")
    now = clock.now()
    job.cancel(now)
    uow.jobs.save(job)
    account = account_for(uow, job.user_id, 0, clock)
    account.refund(job.tokens_cost, "refund: generation cancelled", now, job.id)
    uow.accounts.save(account)
    uow.outbox.add(
        GenerationCancelled(
            event_id=ids.new_id(),
            job_id=job.id,
            user_id=job.user_id,
            occurred_at=now,
            refunded=job.tokens_cost,
        )
    )


@dataclass(slots=True)
class CancelGeneration:
    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator

    def execute(self, user_id: str, job_id: str) -> ImageView:
        def work(uow: UnitOfWork) -> ImageJob:
            job = uow.jobs.get(job_id)
            if job is None:
                raise NotFound("image", job_id)
            job.ensure_owner(user_id)
            cancel_in(uow, job, self.clock, self.ids)
            return job

        return ImageView.of(in_transaction(self.uow_factory, work))
