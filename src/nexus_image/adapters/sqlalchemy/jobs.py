"""Jobs (the images) in SQL; orders and filters match the in-memory adapter exactly."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

import sqlalchemy as sa

from nexus_image.adapters.sqlalchemy.base import SqlRepository
from nexus_image.adapters.sqlalchemy.mappers import job_from_row, job_values
from nexus_image.adapters.sqlalchemy.retention import (
    KEPT_TIERS,
    expiring_statement,
    removal_pending_statement,
)
from nexus_image.adapters.sqlalchemy.search import search as search_jobs
from nexus_image.adapters.sqlalchemy.tables import favorites, jobs
from nexus_image.application.ports import Page
from nexus_image.domain.job import ImageJob, JobStatus
from nexus_image.domain.retention import ExpirySelection
from nexus_image.domain.search import SearchPage, SearchQuery

# Built once (a GET binds its two values): the statement of the most frequent read.
_WITH_FAVORITE = sa.select(
    jobs,
    sa.exists()
    .where(
        favorites.c.user_id == sa.bindparam("user_id", type_=sa.String()),
        favorites.c.image_id == jobs.c.id,
    )
    .label("is_favorite"),
).where(jobs.c.id == sa.bindparam("job_id", type_=sa.String()))


class SqlJobs(SqlRepository):
    def add(self, job: ImageJob) -> None:
        """A job id that exists already is ConcurrentUpdate (a Conflict)."""
        self.execute(sa.insert(jobs).values(**job_values(job), version=job.version))

    def get(self, job_id: str) -> ImageJob | None:
        row = self.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
        return job_from_row(row) if row is not None else None

    def get_with_favorite(self, job_id: str, user_id: str) -> tuple[ImageJob | None, bool]:
        """One statement: the job, and an EXISTS on the favorites' primary key."""
        found = self.execute(_WITH_FAVORITE, {"job_id": job_id, "user_id": user_id}).mappings().first()
        if found is None:
            return None, False
        return job_from_row(found), bool(found["is_favorite"])

    def save(self, job: ImageJob) -> None:
        values = job_values(job)
        del values["id"]
        self.guarded_update(jobs, jobs.c.id, job.id, job.version, values)

    def delete(self, job_id: str) -> None:
        self.execute(sa.delete(jobs).where(jobs.c.id == job_id))

    def _page(
        self, where: sa.ColumnElement[bool], order: list[sa.ColumnElement[object]], page: int, size: int
    ) -> Page[ImageJob]:
        total = self.execute(sa.select(sa.func.count()).select_from(jobs).where(where)).scalar_one()
        rows = self.execute(
            sa.select(jobs).where(where).order_by(*order).limit(size).offset(page * size)
        ).mappings()
        return Page([job_from_row(r) for r in rows], total, page, size)

    def list_by_user(self, user_id: str, page: int, size: int) -> Page[ImageJob]:
        """Newest first; ties by id, descending."""
        mine = sa.and_(jobs.c.user_id == user_id, jobs.c.data_removed_at.is_(None))  # no tombstones
        return self._page(mine, [jobs.c.created_at.desc(), jobs.c.id.desc()], page, size)

    def list_public(self, page: int, size: int) -> Page[ImageJob]:
        """Public COMPLETED jobs, most recently completed first (served by ix_jobs_gallery)."""
        # `= true`, not `IS TRUE`: PostgreSQL proves the partial index's predicate only from the former
        where = sa.and_(
            jobs.c.is_public == sa.true(),
            jobs.c.status == JobStatus.COMPLETED.value,
            jobs.c.data_removed_at.is_(None),
        )
        return self._page(where, [jobs.c.completed_at.desc(), jobs.c.id.desc()], page, size)

    def search(self, owner: str | None, query: SearchQuery) -> SearchPage:
        """See adapters.sqlalchemy.search (served by the prompt indexes, ix_jobs_user_created
        and ix_jobs_gallery)."""
        return search_jobs(self, owner, query)

    def list_by_ids(self, job_ids: list[str]) -> list[ImageJob]:
        """In the order asked for; unknown ids are left out."""
        if not job_ids:
            return []
        rows = self.execute(sa.select(jobs).where(jobs.c.id.in_(set(job_ids)))).mappings()
        found = {row["id"]: job_from_row(row) for row in rows}
        return [found[i] for i in job_ids if i in found]

    def in_group(self, group_id: str) -> list[ImageJob]:
        statement = sa.select(jobs).where(jobs.c.group_id == group_id).order_by(jobs.c.created_at, jobs.c.id)
        return [job_from_row(row) for row in self.execute(statement).mappings()]

    def failed_before(self, cutoff: datetime, limit: int) -> list[ImageJob]:
        finished = sa.func.coalesce(jobs.c.completed_at, jobs.c.created_at)
        return self._oldest(sa.and_(jobs.c.status == JobStatus.FAILED.value, finished < cutoff), limit)

    def expiring(
        self,
        selection: ExpirySelection,
        limit: int,
        after: tuple[datetime, str] | None = None,
        among: Sequence[str] | None = None,
    ) -> list[ImageJob]:
        """Served by ix_jobs_retention (see adapters.sqlalchemy.retention)."""
        statement = expiring_statement(selection, limit, after, among)
        return [job_from_row(r) for r in self.execute(statement).mappings()]

    def kept_tiers(self) -> set[str]:
        """Served by ix_jobs_retention, one probe per tier."""
        return set(self.execute(KEPT_TIERS).scalars())

    def removal_pending(self, limit: int, after: tuple[datetime, str] | None = None) -> list[ImageJob]:
        """Served by ix_jobs_removing."""
        return [job_from_row(r) for r in self.execute(removal_pending_statement(limit, after)).mappings()]

    def lease_expired(self, now: datetime, limit: int) -> list[ImageJob]:
        """Served by ix_jobs_processing_lease."""
        lease = jobs.c.lease_expires_at
        expired = sa.or_(lease.is_(None), lease <= now)
        return self._oldest(sa.and_(jobs.c.status == JobStatus.PROCESSING.value, expired), limit)

    def next_lease_expiry(self) -> datetime | None:
        statement = sa.select(sa.func.min(jobs.c.lease_expires_at)).where(
            jobs.c.status == JobStatus.PROCESSING.value
        )
        found: datetime | None = self.execute(statement).scalar_one()
        return found

    def queued_before(self, created_before: datetime, limit: int) -> list[ImageJob]:
        """QUEUED jobs created before `created_before`, oldest first."""
        return self._oldest(
            sa.and_(jobs.c.status == JobStatus.QUEUED.value, jobs.c.created_at < created_before), limit
        )

    def _oldest(self, where: sa.ColumnElement[bool], limit: int) -> list[ImageJob]:
        statement = sa.select(jobs).where(where).order_by(jobs.c.created_at, jobs.c.id).limit(limit)
        return [job_from_row(r) for r in self.execute(statement).mappings()]

    def recent_completions(self, since: datetime, limit: int) -> list[ImageJob]:
        """Served by ix_jobs_completed."""
        where = sa.and_(jobs.c.status == JobStatus.COMPLETED.value, jobs.c.completed_at >= since)
        statement = (
            sa.select(jobs).where(where).order_by(jobs.c.completed_at.desc(), jobs.c.id.desc()).limit(limit)
        )
        return [job_from_row(r) for r in self.execute(statement).mappings()]

    def active_workers(self, now: datetime) -> int:
        where = sa.and_(
            jobs.c.status == JobStatus.PROCESSING.value,
            jobs.c.lease_expires_at > now,
            jobs.c.worker_id.is_not(None),
        )
        statement = sa.select(sa.func.count(sa.distinct(jobs.c.worker_id))).where(where)
        count: int = self.execute(statement).scalar_one()
        return count

    def count_by_status(self, statuses: Collection[JobStatus] | None = None) -> dict[str, int]:
        if statuses is not None:  # one count each, served by the status's partial index
            return {
                s.value: int(
                    self.execute(
                        sa.select(sa.func.count()).select_from(jobs).where(jobs.c.status == s.value)
                    ).scalar_one()
                )
                for s in statuses
            }
        counts = {s.value: 0 for s in JobStatus}
        statement = sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)
        for status, count in self.execute(statement):
            counts[status] = count
        return counts

    def stored_bytes(self, user_id: str) -> int:
        statement = sa.select(sa.func.coalesce(sa.func.sum(jobs.c.stored_bytes), 0)).where(
            jobs.c.user_id == user_id
        )
        return int(self.execute(statement).scalar_one())

    def active_of(self, user_id: str, limit: int) -> list[ImageJob]:
        """Served by ix_jobs_user_created."""
        active = jobs.c.status.in_([JobStatus.QUEUED.value, JobStatus.PROCESSING.value])
        return self._oldest(sa.and_(jobs.c.user_id == user_id, active), limit)

    def flagged(self, limit: int, reviewed: bool = False) -> list[ImageJob]:
        """Served by ix_jobs_flagged (`= true`: see list_public)."""
        where = sa.and_(
            jobs.c.safety_flagged == sa.true(),
            jobs.c.status == JobStatus.COMPLETED.value,
            jobs.c.safety_review.is_not(None) if reviewed else jobs.c.safety_review.is_(None),
        )
        statement = sa.select(jobs).where(where).order_by(jobs.c.completed_at, jobs.c.id).limit(limit)
        return [job_from_row(r) for r in self.execute(statement).mappings()]
