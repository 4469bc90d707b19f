"""Jobs (the images) in SQL; orders and filters match the in-memory adapter exactly."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from nexus_image.adapters.sqlalchemy.base import SqlRepository
from nexus_image.adapters.sqlalchemy.mappers import job_from_row, job_values
from nexus_image.adapters.sqlalchemy.tables import jobs
from nexus_image.application.ports import Page
from nexus_image.domain.job import ImageJob, JobStatus


class SqlJobs(SqlRepository):
    def add(self, job: ImageJob) -> None:
        """A job id that exists already is ConcurrentUpdate (a Conflict)."""
        self.execute(sa.insert(jobs).values(**job_values(job), version=job.version))

    def get(self, job_id: str) -> ImageJob | None:
        row = self.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
        return job_from_row(row) if row is not None else None

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
        return self._page(jobs.c.user_id == user_id, [jobs.c.created_at.desc(), jobs.c.id.desc()], page, size)

    def list_public(self, page: int, size: int) -> Page[ImageJob]:
        """Public COMPLETED jobs, most recently completed first (served by ix_jobs_gallery)."""
        # `= true`, not `IS TRUE`: PostgreSQL proves the partial index's predicate only from the former
        where = sa.and_(jobs.c.is_public == sa.true(), jobs.c.status == JobStatus.COMPLETED.value)
        return self._page(where, [jobs.c.completed_at.desc(), jobs.c.id.desc()], page, size)

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

    def count_by_status(self) -> dict[str, int]:
        counts = {s.value: 0 for s in JobStatus}
        statement = sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)
        for status, count in self.execute(statement):
            counts[status] = count
        return counts
