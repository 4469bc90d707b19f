"""Retention per tier: how long a tier's images are kept, and which images are kept past it.

An image (a terminal job) of a tier whose `retention_days` is N > 0 expires N days after it was
requested (`created_at`); retention then removes its files and keeps its row as a tombstone
(`ImageJob.data_removed_at`), unless a protection the operator kept applies: its owner
favorited it, it is in one of its owner's albums, or it is public. The tier is the job's own
(`ImageJob.tier`: the owner's tier when it was requested, so an index serves the scan); a job
of a tier no longer configured follows the default tier's retention, as everything else
follows the default tier (`TierPolicy.tier`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from nexus_image.domain.errors import InvalidValue
from nexus_image.domain.job import ImageJob, JobStatus
from nexus_image.domain.queue import TierPolicy


class Protection(StrEnum):
    """What keeps an expired image."""

    FAVORITE = "favorite"  # its owner favorited it (another user's favorite does not count)
    ALBUM = "album"  # it is in an album (albums hold only their owner's images)
    PUBLIC = "public"  # it is public and COMPLETED: shown in the gallery


EVERY_PROTECTION = frozenset(Protection)


def parse_keeps(text: str) -> frozenset[Protection]:
    """From NEXUS_IMAGE_RETENTION_KEEPS: protection names, comma-separated (empty: none)."""
    allowed = tuple(p.value for p in Protection)
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in allowed:
            raise InvalidValue(
                "retention_keeps", f"unknown protection {name!r}; allowed: {', '.join(allowed)}", allowed
            )
    return frozenset(Protection(name) for name in names)


def is_protected(
    job: ImageJob, keeps: frozenset[Protection], favorited_by_owner: bool, in_album: bool
) -> bool:
    """Whether one of `keeps` keeps `job` past its expiry."""
    return (
        (Protection.FAVORITE in keeps and favorited_by_owner)
        or (Protection.ALBUM in keeps and in_album)
        or (Protection.PUBLIC in keeps and job.is_public and job.status is JobStatus.COMPLETED)
    )


def expires_at(job: ImageJob, tiers: TierPolicy) -> datetime | None:
    """When the job's image expires (None: its tier keeps images forever). A protected image is
    kept past it, as long as it stays protected."""
    days = tiers.tier(job.tier).retention_days
    return job.created_at + timedelta(days=days) if days > 0 else None


@dataclass(frozen=True, slots=True)
class ExpirySelection:
    """What retention removes, as one query: the terminal jobs whose data is still kept, of the
    tiers named, created before `created_before`, and not protected by any of `keeps`.
    Repositories answer it (`JobRepository.expiring`)."""

    tiers: tuple[str, ...]
    created_before: datetime
    keeps: frozenset[Protection]

    def covers(self, job: ImageJob, favorited_by_owner: bool, in_album: bool) -> bool:
        """The rule for one job (what every adapter's query must agree with)."""
        return (
            job.tier in self.tiers
            and job.status.is_terminal
            and job.data_removed_at is None
            and job.created_at < self.created_before
            and not is_protected(job, self.keeps, favorited_by_owner, in_album)
        )


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """The tiers' retention and the protections the operator kept."""

    tiers: TierPolicy = field(default_factory=TierPolicy)
    keeps: frozenset[Protection] = EVERY_PROTECTION

    def days(self, tier: str) -> int:
        """How many days images of `tier` are kept (0: forever)."""
        return self.tiers.tier(tier).retention_days

    def expires_at(self, job: ImageJob) -> datetime | None:
        return expires_at(job, self.tiers)

    def selections(self, now: datetime, in_use: Collection[str] = ()) -> list[ExpirySelection]:
        """One per configured tier that keeps images for a limited time, and one for the tiers
        of `in_use` (the tiers jobs name) that are no longer configured: those follow the
        default tier's retention."""
        found = [
            ExpirySelection((tier.name,), now - timedelta(days=tier.retention_days), self.keeps)
            for tier in self.tiers.tiers
            if tier.retention_days > 0
        ]
        unknown = tuple(sorted(set(in_use) - set(self.tiers.names)))
        days = self.days(self.tiers.default)
        if unknown and days > 0:
            found.append(ExpirySelection(unknown, now - timedelta(days=days), self.keeps))
        return found
