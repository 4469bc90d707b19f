"""Running a piece of work in one unit of work (retried when a concurrent writer got there
first), and persisting what a job's transition implies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from nexus_image.application.dto import ImageView
from nexus_image.application.errors import ConcurrentUpdate, Conflict
from nexus_image.application.ports import Clock, IdGenerator, UnitOfWork, UnitOfWorkFactory
from nexus_image.domain.account import TokenAccount
from nexus_image.domain.job import ImageJob, JobStatus, RefundPolicy
from nexus_image.domain.transition import Transition
from nexus_image.domain.webhooks import SigningSecrets, new_secret

R = TypeVar("R")


def in_transaction(uow_factory: UnitOfWorkFactory, work: Callable[[UnitOfWork], R], attempts: int = 8) -> R:
    """Run `work` in a fresh unit of work and commit; re-run it on ConcurrentUpdate."""
    for attempt in range(attempts):
        try:
            with uow_factory() as uow:
                result = work(uow)
                uow.commit()
                return result
        except ConcurrentUpdate:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def account_for(uow: UnitOfWork, user_id: str, welcome_grant: int, clock: Clock) -> TokenAccount:
    """The user's account, opened (with the welcome grant, as a ledger entry) on first use."""
    account = uow.accounts.get(user_id)
    if account is None:
        account = TokenAccount.open(user_id, welcome_grant, clock.now())
        uow.accounts.add(account)
    return account


def account_secrets(uow: UnitOfWork, user_id: str) -> SigningSecrets:
    """The secrets that sign the deliveries to a user's requests' own webhook URLs, made on
    first need (like the account)."""
    found = uow.webhooks.account_secrets(user_id)
    if found is None:
        found = SigningSecrets(new_secret())
        uow.webhooks.save_account_secrets(user_id, found)
    return found


def record(
    uow: UnitOfWork,
    job: ImageJob,
    transition: Transition,
    clock: Clock,
    *,
    new: bool = False,
    welcome_grant: int = 0,
) -> None:
    """Persist a job after one of its transitions, with what the transition implies: the
    owner's tokens moved (charge or refund), its events in the outbox, and, for a job that now
    waits for its turn (new, or handed back), its owner in their tier's rotation; all in `uow`.
    An account seen for the first time opens with `welcome_grant`."""
    if new:
        uow.jobs.add(job)
    else:
        uow.jobs.save(job)
    if job.status is JobStatus.QUEUED and job.dispatched_at is None:
        uow.queue.enqueue(job.user_id, job.tier, clock.now())
    movement = transition.movement
    if movement is not None:
        account = account_for(uow, job.user_id, welcome_grant, clock)
        account.apply(movement.kind, movement.amount, movement.reason, clock.now(), movement.job_id)
        uow.accounts.save(account)
    for event in transition.events:
        uow.outbox.add(event)


def call_back(uow: UnitOfWork, job: ImageJob, clock: Clock) -> None:
    """A job dispatched and not started waits for its turn again (a pause, a queue that died
    with its process): saved undispatched, its owner back in their tier's rotation."""
    job.undispatch()
    record(uow, job, Transition(), clock)


@dataclass(frozen=True, slots=True)
class Cancelled:
    view: ImageView
    refunded: int  # tokens given back (the policy's share of the cost)


def cancel_in(uow: UnitOfWork, job: ImageJob, clock: Clock, ids: IdGenerator, policy: RefundPolicy) -> int:
    """Cancel `job` in `uow` (refunded as `policy` says); the tokens given back."""
    if job.status.is_terminal:
        raise Conflict(f"image {job.id} is already {job.status.value} and cannot be cancelled")
    refund = job.cancel_refund(policy)
    record(uow, job, job.cancel(clock.now(), event_id=ids.new_id(), policy=policy), clock)
    return refund
