"""Quotas per tier: images a day and a month (UTC calendar periods) and bytes kept; what a user
has used of them; when each count starts again.

A request for `asked` images is allowed while the images already charged in the period plus
`asked` stay within the quota; bytes are checked against what is kept now (an image's size is
known only once drawn), so a user under their storage quota may finish one request past it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from nexus_image.domain.errors import DomainError
from nexus_image.domain.queue import Tier


class Quota(StrEnum):
    IMAGES_PER_DAY = "images_per_day"
    IMAGES_PER_MONTH = "images_per_month"
    BYTES_STORED = "bytes_stored"


def day_start(at: datetime) -> datetime:
    """The start of `at`'s UTC day."""
    at = at.astimezone(UTC)
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(at: datetime) -> datetime:
    """The start of `at`'s UTC month."""
    return day_start(at).replace(day=1)


def next_month(at: datetime) -> datetime:
    start = month_start(at)
    return (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )


@dataclass(frozen=True, slots=True)
class Usage:
    """What a user has used at one moment: images charged (and not refunded) today and this
    month, bytes kept (images and uploads), images queued and running now."""

    images_today: int = 0
    images_this_month: int = 0
    bytes_stored: int = 0
    queued: int = 0
    running: int = 0


@dataclass(frozen=True, slots=True)
class QuotaState:
    """One quota: its limit (0: none), what is used and when the count starts again (None for
    bytes: they go down when images are deleted)."""

    quota: Quota
    limit: int
    used: int
    resets_at: datetime | None

    @property
    def unlimited(self) -> bool:
        return self.limit == 0

    def allows(self, more: int) -> bool:
        if self.unlimited:
            return True
        if self.quota is Quota.BYTES_STORED:
            return self.used < self.limit
        return self.used + more <= self.limit


class QuotaExceeded(DomainError):
    """A request that the user's tier's quota does not allow."""

    code = "quota_exceeded"

    def __init__(self, state: QuotaState, asked: int, tier: str) -> None:
        self.state = state
        self.asked = asked
        self.tier = tier
        if state.quota is Quota.BYTES_STORED:
            message = (
                f"the {tier} tier keeps at most {state.limit} bytes of images; {state.used} are kept: "
                "delete images to make room"
            )
        else:
            period = "a day" if state.quota is Quota.IMAGES_PER_DAY else "a month"
            message = (
                f"the {tier} tier allows {state.limit} images {period}; {state.used} used, {asked} asked; "
                f"the count starts again at {state.resets_at.isoformat() if state.resets_at else 'never'}"
            )
        super().__init__(message)


def quota_states(tier: Tier, usage: Usage, now: datetime) -> tuple[QuotaState, ...]:
    """Every quota of `tier` with its use at `now` (unlimited ones too: limit 0)."""
    return (
        QuotaState(
            Quota.IMAGES_PER_DAY, tier.images_per_day, usage.images_today, day_start(now) + timedelta(days=1)
        ),
        QuotaState(Quota.IMAGES_PER_MONTH, tier.images_per_month, usage.images_this_month, next_month(now)),
        QuotaState(Quota.BYTES_STORED, tier.bytes_stored, usage.bytes_stored, None),
    )


def check_quotas(tier: Tier, usage: Usage, asked: int, now: datetime) -> None:
    """Raise QuotaExceeded for the first quota of `tier` that `asked` more images would pass."""
    for state in quota_states(tier, usage, now):
        if not state.allows(asked):
            raise QuotaExceeded(state, asked, tier.name)
