"""The caller's account: tier, balance, their tier's limits and what they have used of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, get
from msgspec import Struct

from nexus_image.application.accounts import ViewAccount
from nexus_image.application.usage import AccountView
from nexus_image.entrypoints.http.auth import ALLOW_SUSPENDED, caller_tier
from nexus_image.entrypoints.http.docs import problems


class QuotaResponse(Struct, kw_only=True):
    quota: str  # images_per_day, images_per_month or bytes_stored
    limit: int | None  # None: no quota
    used: int
    remaining: int | None
    resets_at: datetime | None  # when the count starts again (None for bytes)


class LimitsResponse(Struct, kw_only=True):
    max_queued: int
    max_running: int | None  # None: no cap
    images_per_day: int | None
    images_per_month: int | None
    bytes_stored: int | None
    retention_days: int | None  # None: images are kept until deleted


class UsageResponse(Struct, kw_only=True):
    images_today: int
    images_this_month: int
    bytes_stored: int
    queued: int
    running: int


class AccountResponse(Struct, kw_only=True):
    user_id: str
    tier: str
    balance: int
    limits: LimitsResponse
    usage: UsageResponse
    quotas: list[QuotaResponse]
    suspended: bool
    suspended_at: datetime | None = None
    suspended_reason: str | None = None

    @classmethod
    def of(cls, view: AccountView) -> AccountResponse:
        tier, usage = view.tier, view.usage
        return cls(
            user_id=view.user_id,
            tier=tier.name,
            balance=view.balance,
            limits=LimitsResponse(
                max_queued=tier.max_queued,
                max_running=tier.max_running or None,
                images_per_day=tier.images_per_day or None,
                images_per_month=tier.images_per_month or None,
                bytes_stored=tier.bytes_stored or None,
                retention_days=tier.retention_days or None,
            ),
            usage=UsageResponse(
                images_today=usage.images_today,
                images_this_month=usage.images_this_month,
                bytes_stored=usage.bytes_stored,
                queued=usage.queued,
                running=usage.running,
            ),
            quotas=[
                QuotaResponse(
                    quota=q.quota.value,
                    limit=None if q.unlimited else q.limit,
                    used=q.used,
                    remaining=None if q.unlimited else max(0, q.limit - q.used),
                    resets_at=q.resets_at.astimezone(UTC) if q.resets_at else None,
                )
                for q in view.quotas
            ],
            suspended=view.suspended_at is not None,
            suspended_at=view.suspended_at,
            suspended_reason=view.suspended_reason,
        )


class AccountController(Controller):
    path = "/account"
    tags = ["account"]

    @get(
        "/",
        sync_to_thread=True,
        summary="The caller's account: tier, balance, limits and usage",
        responses=problems(),
        opt={ALLOW_SUSPENDED: True},
    )
    def account(self, request: Request[Any, Any, Any], user: str, accounts: ViewAccount) -> AccountResponse:
        """Images today and this month count those charged and not refunded (UTC days and
        months); bytes are the images' and the uploads' kept now. A suspended account still
        answers here (`suspended`), and nowhere else."""
        return AccountResponse.of(accounts.execute(user, caller_tier(request)))
