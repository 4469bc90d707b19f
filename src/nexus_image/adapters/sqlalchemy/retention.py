"""Retention's queries on the jobs table: the rule of `domain.retention.ExpirySelection`, in SQL.

A tier's scan is a range of ix_jobs_retention (tier, created_at, id; rows whose data is still
kept): batches follow each other by (created_at, id), so protected rows are read once per run,
not once per batch. The protections are anti-joins on the indexed image ids of favorites and
album_images. The tiers jobs name are found by skipping through the same index, one probe per
tier (a loose index scan, written as a recursive query: neither engine has one). The rows marked
removed whose objects are still to be deleted are the few rows of ix_jobs_removing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from nexus_image.adapters.sqlalchemy.tables import album_images, favorites, jobs
from nexus_image.domain.job import TERMINAL, JobStatus
from nexus_image.domain.retention import ExpirySelection, Protection


def _unprotected(keeps: frozenset[Protection]) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if Protection.FAVORITE in keeps:
        by_owner = sa.and_(favorites.c.image_id == jobs.c.id, favorites.c.user_id == jobs.c.user_id)
        conditions.append(~sa.exists().where(by_owner))
    if Protection.ALBUM in keeps:
        conditions.append(~sa.exists().where(album_images.c.image_id == jobs.c.id))
    if Protection.PUBLIC in keeps:
        conditions.append(sa.or_(jobs.c.is_public == sa.false(), jobs.c.status != JobStatus.COMPLETED.value))
    return conditions


def expiring_statement(
    selection: ExpirySelection,
    limit: int,
    after: tuple[datetime, str] | None = None,
    among: Sequence[str] | None = None,
) -> sa.Select[tuple[object, ...]]:
    tiers = list(selection.tiers)
    conditions: list[sa.ColumnElement[bool]] = [
        jobs.c.tier.in_(tiers),
        jobs.c.data_removed_at.is_(None),
        jobs.c.created_at < selection.created_before,
        jobs.c.status.in_(sorted(s.value for s in TERMINAL)),
        *_unprotected(selection.keeps),
    ]
    if after is not None:
        conditions.append(_after(jobs.c.created_at, after))
    if among is not None:
        conditions.append(jobs.c.id.in_(list(among)))
    return sa.select(jobs).where(*conditions).order_by(jobs.c.created_at, jobs.c.id).limit(limit)


def _after(column: sa.ColumnElement[datetime], after: tuple[datetime, str]) -> sa.ColumnElement[bool]:
    """Keyset paging: rows after (`column`, id) = `after`."""
    moment, job_id = after
    return sa.or_(column > moment, sa.and_(column == moment, jobs.c.id > job_id))


def removal_pending_statement(
    limit: int, after: tuple[datetime, str] | None = None
) -> sa.Select[tuple[object, ...]]:
    conditions: list[sa.ColumnElement[bool]] = [
        jobs.c.data_removed_at.is_not(None),
        sa.or_(jobs.c.image_key.is_not(None), jobs.c.thumbnail_key.is_not(None)),
    ]
    if after is not None:
        conditions.append(_after(jobs.c.data_removed_at, after))
    return sa.select(jobs).where(*conditions).order_by(jobs.c.data_removed_at, jobs.c.id).limit(limit)


# min(tier) over the kept rows, then the next tier above each one found: each step is one probe
# of ix_jobs_retention (the WHERE is its predicate), however many rows a tier has.
KEPT_TIERS = sa.text(
    """
    WITH RECURSIVE found(tier) AS (
        SELECT min(tier) FROM jobs WHERE data_removed_at IS NULL
        UNION ALL
        SELECT (SELECT min(j.tier) FROM jobs AS j WHERE j.data_removed_at IS NULL AND j.tier > found.tier)
        FROM found WHERE found.tier IS NOT NULL
    )
    SELECT tier FROM found WHERE tier IS NOT NULL
    """
)
