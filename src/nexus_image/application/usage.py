"""What a user has used of their tier's limits, read in a unit of work: shared by the account
view, the operators' view of a user and the quota check in the transaction that charges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nexus_image.application.ports import UnitOfWork
from nexus_image.domain.account import TokenAccount
from nexus_image.domain.queue import Tier
from nexus_image.domain.quota import QuotaState, Usage, day_start, month_start, quota_states


def usage_of(uow: UnitOfWork, user_id: str, now: datetime, *, live: bool = True) -> Usage:
    """What `user_id` has used at `now`, read in `uow` (under the account's lock when the
    caller holds it). `live=False` leaves out the queue (the quota check does not need it)."""
    bytes_stored = uow.jobs.stored_bytes(user_id) + uow.uploads.usage(user_id)[1]
    queued = uow.queue.queued_count(user_id) if live else 0
    running = uow.queue.running_by_user().get(user_id, 0) if live else 0
    return Usage(
        images_today=uow.accounts.images_charged(user_id, day_start(now)),
        images_this_month=uow.accounts.images_charged(user_id, month_start(now)),
        bytes_stored=bytes_stored,
        queued=queued,
        running=running,
    )


@dataclass(frozen=True, slots=True)
class AccountView:
    user_id: str
    tier: Tier
    balance: int
    usage: Usage
    quotas: tuple[QuotaState, ...]
    suspended_at: datetime | None = None
    suspended_reason: str | None = None


def account_view(uow: UnitOfWork, account: TokenAccount, tier: Tier, now: datetime) -> AccountView:
    usage = usage_of(uow, account.user_id, now)
    return AccountView(
        account.user_id,
        tier,
        account.balance,
        usage,
        quota_states(tier, usage, now),
        account.suspended_at,
        account.suspended_reason,
    )
