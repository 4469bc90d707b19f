"""Cancel a job: the owner gets the exact cost back; a running job stops at its next step."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_image.application.access import owned_job
from nexus_image.application.dto import ImageView
from nexus_image.application.errors import Conflict
from nexus_image.application.ports import Clock, IdGenerator, UnitOfWork, UnitOfWorkFactory
from nexus_image.application.transactions import in_transaction, record
from nexus_image.domain.job import ImageJob


@dataclass(slots=True)
class CancelGeneration:
    """Only the owner cancels; a finished job cannot be (Conflict)."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator

    def execute(self, user_id: str, job_id: str) -> ImageView:
        def work(uow: UnitOfWork) -> ImageJob:
            job = owned_job(uow, job_id, user_id)
            if job.status.is_terminal:
                raise Conflict(f"image {job.id} is already {job.status.value} and cannot be cancelled")
            record(uow, job, job.cancel(self.clock.now(), event_id=self.ids.new_id()), self.clock)
            return job

        return ImageView.of(in_transaction(self.uow_factory, work))
