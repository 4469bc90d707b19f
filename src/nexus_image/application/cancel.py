"""Cancel a job: the owner gets back what the refund policy says (the exact cost by default);
a running job stops at its next step."""

from __future__ import annotations

from dataclasses import dataclass, field

from nexus_image.application.access import owned_job
from nexus_image.application.dto import ImageView
from nexus_image.application.ports import Clock, IdGenerator, UnitOfWork, UnitOfWorkFactory
from nexus_image.application.transactions import Cancelled, cancel_in, in_transaction
from nexus_image.application.views import job_view
from nexus_image.domain.job import RefundPolicy
from nexus_image.domain.queue import TierPolicy


@dataclass(slots=True)
class CancelGeneration:
    """Only the owner cancels (operators cancel anyone's: `OperateUsers.cancel`); a finished
    job cannot be (Conflict). `policy`: full refund, or the share of the steps not run (as far as
    the worker last said, so rounded in the owner's favour)."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    policy: RefundPolicy = RefundPolicy.FULL
    tiers: TierPolicy = field(default_factory=TierPolicy)  # for the view's `expires_at`

    def execute(self, user_id: str, job_id: str) -> ImageView:
        return self.cancel(user_id, job_id).view

    def cancel(self, user_id: str, job_id: str) -> Cancelled:
        def work(uow: UnitOfWork) -> Cancelled:
            job = owned_job(uow, job_id, user_id)
            refunded = cancel_in(uow, job, self.clock, self.ids, self.policy)
            return Cancelled(job_view(job, self.tiers), refunded)

        return in_transaction(self.uow_factory, work)
