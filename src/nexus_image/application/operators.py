"""What operators do for and to users: look at the queue by tier and user, cancel or requeue
anyone's job, grant or take tokens with a reason, look at a user's usage, suspend and
reinstate a user, review the images the output check flagged, see the workers.

Every action is audited by the caller (the HTTP layer writes one audit row per action, with
the operator's name); the ledger entries carry the operator's reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from nexus_image.application.access import load_job
from nexus_image.application.dto import ImageView
from nexus_image.application.errors import Conflict, NotFound
from nexus_image.application.ports import (
    Clock,
    IdGenerator,
    ObjectStorage,
    UnitOfWork,
    UnitOfWorkFactory,
)
from nexus_image.application.transactions import (
    Cancelled,
    account_for,
    call_back,
    cancel_in,
    in_transaction,
    record,
)
from nexus_image.application.usage import AccountView, account_view
from nexus_image.application.views import delete_objects, job_view
from nexus_image.domain.errors import InvalidValue
from nexus_image.domain.job import ImageJob, JobStatus, RefundPolicy, SafetyReview
from nexus_image.domain.queue import TierPolicy

MAX_REASON = 500
SUSPEND_BATCH = 200


def _reason(reason: str) -> str:
    text = " ".join(str(reason).split())
    if not text:
        raise InvalidValue("reason", "say why (it is kept in the ledger and the audit trail)")
    if len(text) > MAX_REASON:
        raise InvalidValue("reason", f"at most {MAX_REASON} characters")
    return text


@dataclass(frozen=True, slots=True)
class UserInQueue:
    user_id: str
    tier: str
    waiting: int  # queued, not handed to a worker yet
    running: int  # dispatched or running


@dataclass(frozen=True, slots=True)
class WorkerView:
    worker_id: str
    models: tuple[str, ...]  # the models it serves (empty: any)
    capacity: int
    running: int
    state: str  # "active" (seen within the seat's lifetime) or "gone"
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class UserView:
    account: AccountView
    active: list[ImageView]  # queued and running jobs, oldest first


@dataclass(slots=True)
class OperateUsers:
    """The operators' use cases (the caller checks that the caller is an operator)."""

    uow_factory: UnitOfWorkFactory
    storage: ObjectStorage
    clock: Clock
    ids: IdGenerator
    policy: TierPolicy = field(default_factory=TierPolicy)
    cancel_policy: RefundPolicy = RefundPolicy.FULL
    welcome_grant: int = 0
    seat_ttl: timedelta = field(default=timedelta(seconds=10))

    # --- the queue -------------------------------------------------------------------------

    def queue_by_user(self) -> list[UserInQueue]:
        """Every user with images waiting or running, the busiest first."""
        with self.uow_factory() as uow:
            waiting = uow.queue.waiting()
            running = uow.queue.running_by_user()
        users: dict[str, UserInQueue] = {}
        for tier, members in waiting.items():
            for member in members:
                users[member.user_id] = UserInQueue(
                    member.user_id, tier, member.waiting, running.get(member.user_id, 0)
                )
        for user_id, count in running.items():
            if user_id not in users:
                users[user_id] = UserInQueue(user_id, "", 0, count)
        return sorted(users.values(), key=lambda u: (-u.waiting - u.running, u.user_id))

    def cancel(self, job_id: str) -> Cancelled:
        """Anyone's queued or running job, refunded as the policy says."""

        def work(uow: UnitOfWork) -> Cancelled:
            job = load_job(uow, job_id)
            refunded = cancel_in(uow, job, self.clock, self.ids, self.cancel_policy)
            return Cancelled(job_view(job, self.policy), refunded)

        return in_transaction(self.uow_factory, work)

    def requeue(self, job_id: str) -> ImageView:
        """A running job goes back to the queue (its worker's result will be refused); a job
        handed to a worker and not started waits for its turn again. A finished job: Conflict."""

        def work(uow: UnitOfWork) -> ImageJob:
            job = load_job(uow, job_id)
            if job.status is JobStatus.PROCESSING:
                record(uow, job, job.requeue(self.clock.now(), event_id=self.ids.new_id()), self.clock)
            elif job.status is JobStatus.QUEUED:
                if job.dispatched:
                    call_back(uow, job, self.clock)
            else:
                raise Conflict(f"image {job.id} is already {job.status.value} and cannot be requeued")
            return job

        return job_view(in_transaction(self.uow_factory, work), self.policy)

    def workers(self) -> list[WorkerView]:
        now = self.clock.now()
        with self.uow_factory() as uow:
            seats = uow.queue.seats(datetime.min.replace(tzinfo=now.tzinfo))
            running = uow.queue.running_by_worker()
        return [
            WorkerView(
                seat.worker_id,
                tuple(sorted(seat.partitions)) if seat.partitions else (),
                seat.capacity,
                running.get(seat.worker_id, 0),
                "active" if now - seat.seen_at <= self.seat_ttl else "gone",
                seat.seen_at,
            )
            for seat in seats
        ]

    # --- users ------------------------------------------------------------------------------

    def user(self, user_id: str) -> UserView:
        def work(uow: UnitOfWork) -> UserView:
            account = account_for(uow, user_id, self.welcome_grant, self.clock)
            view = account_view(uow, account, self.policy.tier(account.tier), self.clock.now())
            return UserView(view, [job_view(j, self.policy) for j in uow.jobs.active_of(user_id, 100)])

        return in_transaction(self.uow_factory, work)

    def adjust_tokens(self, user_id: str, amount: int, reason: str) -> int:
        """Grant (amount > 0) or take back (amount < 0) tokens, in the ledger with `reason`;
        the new balance. Taking more than the balance is refused (InsufficientTokens)."""
        why = _reason(reason)
        if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
            raise InvalidValue("amount", "a whole number of tokens, not 0: positive grants, negative takes")

        def work(uow: UnitOfWork) -> int:
            account = account_for(uow, user_id, self.welcome_grant, self.clock)
            if amount > 0:
                account.grant(amount, why, self.clock.now())
            else:
                account.take(-amount, why, self.clock.now())
            uow.accounts.save(account)
            return account.balance

        return in_transaction(self.uow_factory, work)

    def suspend(self, user_id: str, reason: str) -> int:
        """The user may do nothing until reinstated; their queued jobs are cancelled and
        refunded in full (running ones finish). How many were cancelled."""
        why = _reason(reason)

        def mark(uow: UnitOfWork) -> None:
            account = account_for(uow, user_id, self.welcome_grant, self.clock)
            account.suspend(why, self.clock.now())
            uow.accounts.save(account)

        in_transaction(self.uow_factory, mark)
        cancelled = 0
        while True:  # in batches: a user with thousands queued does not hold one long transaction

            def batch(uow: UnitOfWork) -> int:
                queued = [
                    j for j in uow.jobs.active_of(user_id, SUSPEND_BATCH) if j.status is JobStatus.QUEUED
                ]
                for job in queued:
                    cancel_in(uow, job, self.clock, self.ids, RefundPolicy.FULL)
                return len(queued)

            done = in_transaction(self.uow_factory, batch)
            cancelled += done
            if done < SUSPEND_BATCH:
                return cancelled

    def reinstate(self, user_id: str) -> bool:
        def work(uow: UnitOfWork) -> bool:
            account = uow.accounts.get(user_id)
            if account is None or not account.reinstate():
                return False
            uow.accounts.save(account)
            return True

        return in_transaction(self.uow_factory, work)

    # --- flagged images ---------------------------------------------------------------------

    def flagged(self, reviewed: bool = False, limit: int = 50) -> list[ImageView]:
        with self.uow_factory() as uow:
            return [job_view(j, self.policy) for j in uow.jobs.flagged(limit, reviewed)]

    def image(self, job_id: str) -> tuple[bytes, str]:
        """A flagged image's content (an operator reviews any user's flagged image; other
        images answer as missing)."""
        with self.uow_factory() as uow:
            job = uow.jobs.get(job_id)
        if job is None or not job.is_flagged or job.image_key is None:
            raise NotFound("image", job_id)
        job.ensure_data_kept()
        return self.storage.get(job.image_key), "image/png"

    def review(self, job_id: str, decision: str) -> ImageView | None:
        """`hide` (private for good), `release` (its owner may publish it) or `delete` (the
        image and its files go; None)."""
        choices = {"hide": SafetyReview.HIDDEN, "release": SafetyReview.RELEASED, "delete": None}
        if decision not in choices:
            raise InvalidValue("decision", f"one of {', '.join(choices)}", tuple(choices))

        def work(uow: UnitOfWork) -> ImageJob:
            job = uow.jobs.get(job_id)
            if job is None or not job.is_flagged:
                raise NotFound("image", job_id)
            chosen = choices[decision]
            if chosen is None:
                uow.favorites.remove_image_everywhere(job_id)
                uow.albums.remove_image_everywhere(job_id)
                uow.jobs.delete(job_id)
            else:
                job.review(chosen)
                uow.jobs.save(job)
            return job

        job = in_transaction(self.uow_factory, work)
        if decision == "delete":
            delete_objects(self.storage, [job.image_key, job.thumbnail_key])
            return None
        return job_view(job, self.policy)
