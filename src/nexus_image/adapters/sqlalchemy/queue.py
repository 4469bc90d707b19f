"""The fair queue's state in SQL: the rotations (`queue_users`), the tiers' virtual times and
the pause switch (`queue_state`), the workers' seats (`queue_workers`), and the dispatcher's
reads of `jobs`, each one an index range (see tables.py), whatever the queue's depth."""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from nexus_image.adapters.sqlalchemy.base import SqlRepository
from nexus_image.adapters.sqlalchemy.mappers import job_from_row
from nexus_image.adapters.sqlalchemy.tables import (
    jobs,
    queue_state,
    queue_users,
    queue_waiting,
    queue_workers,
)
from nexus_image.adapters.sqlalchemy.types import UtcDateTime
from nexus_image.application.ports import InRotation, QueueShape, WorkerSeat
from nexus_image.domain.job import ImageJob, JobStatus
from nexus_image.domain.queue import TierClock, WaitingUser

NEVER_SERVED = datetime(1970, 1, 1, tzinfo=UTC)
PAUSED = "paused"
CLOCK = "clock"
PASS = "pass:"
LOCK = "lock"  # SQLite: the row a round writes first, taking the database's write lock
QUEUE_LOCK_KEY = 0x6E78_5F71_7565  # "nx_que": PostgreSQL's transaction lock of the queue

_queued = jobs.c.status == JobStatus.QUEUED.value
_waiting = sa.and_(_queued, jobs.c.dispatched_at.is_(None))
_dispatched = sa.and_(_queued, jobs.c.dispatched_at.is_not(None))


def _of(models: Collection[str] | None) -> sa.ColumnElement[bool]:
    """Jobs of `models` ("" stands for jobs that name none); every job for None."""
    if models is None:
        return sa.true()
    named = sorted(m for m in models if m)
    found = jobs.c.model.in_(named) if named else sa.false()
    return sa.or_(found, jobs.c.model.is_(None)) if "" in models else found


def _routes(stored: str | None) -> dict[str, tuple[int, ...]] | None:
    """A seat's partitions per model; a list (written before models had names) is the plain topic's."""
    if stored is None:
        return None
    found = json.loads(stored)
    if isinstance(found, list):
        return {"": tuple(found)}
    return {str(m): tuple(p) for m, p in found.items()}


@functools.cache
def _shape_statement(with_rotations: bool) -> sa.CompoundSelect[Any]:
    """Rows of kind `u` (a waiting user: tier, id, images, served_at), `s` (a value of the
    tiers' clock), `d` (jobs dispatched), `n` (the owner's waiting jobs up to this one), `m` (1
    while this one waits); for the job named by the parameters `job_id`, `user_id` and
    `created_at`. Built once: a GET of a queued job only binds its values. The `u` rows read
    one row per waiting user, from the counts the triggers keep (`queue_waiting`)."""
    no_text, no_time = sa.null().cast(sa.String()), sa.null().cast(UtcDateTime())

    def row(kind: str, a: Any, b: Any, value: Any, at: Any) -> sa.Select[Any]:
        return sa.select(
            sa.literal(kind).label("kind"),
            a.label("a"),
            b.label("b"),
            sa.cast(value, sa.Float()).label("v"),
            at.label("at"),
        )

    counted = (
        sa.select(queue_waiting.c.user_id, sa.func.sum(queue_waiting.c.jobs).label("n"))
        .where(queue_waiting.c.jobs > 0)
        .group_by(queue_waiting.c.user_id)
        .subquery()
    )
    users = row(
        "u", queue_users.c.tier, queue_users.c.user_id, counted.c.n, queue_users.c.served_at
    ).join_from(counted, queue_users, queue_users.c.user_id == counted.c.user_id)
    clock = row("s", queue_state.c.name, no_text, queue_state.c.value, no_time).where(
        sa.or_(queue_state.c.name == CLOCK, queue_state.c.name.startswith(PASS, autoescape=True))
    )
    ahead = sa.tuple_(jobs.c.created_at, jobs.c.id) <= sa.tuple_(
        sa.bindparam("created_at", type_=UtcDateTime()), sa.bindparam("job_id", type_=sa.String())
    )
    sent = row("d", no_text, no_text, sa.func.count(), no_time).select_from(jobs).where(_dispatched)
    nth = (
        row("n", no_text, no_text, sa.func.count(), no_time)
        .select_from(jobs)
        .where(jobs.c.user_id == sa.bindparam("user_id", type_=sa.String()), _waiting, ahead)
    )
    mine = (
        row("m", no_text, no_text, sa.func.count(), no_time)
        .select_from(jobs)
        .where(jobs.c.id == sa.bindparam("job_id", type_=sa.String()), _waiting)
    )
    return (
        sa.union_all(users, clock, sent, nth, mine)
        if with_rotations
        else sa.union_all(clock, sent, nth, mine)
    )


class SqlQueue(SqlRepository):
    def _insert(self, table: sa.Table) -> Any:
        return (postgresql.insert if self.postgres else sqlite.insert)(table)

    def lock(self) -> None:
        """PostgreSQL: `pg_advisory_xact_lock`, released at commit or rollback. SQLite has one
        writer: a write first (to a row of its own) makes this transaction it until it ends."""
        if self.postgres:
            self.execute(sa.select(sa.func.pg_advisory_xact_lock(QUEUE_LOCK_KEY)))
            return
        statement = self._insert(queue_state).values(name=LOCK, value=0.0, changed_at=NEVER_SERVED)
        self.execute(
            statement.on_conflict_do_update(
                index_elements=[queue_state.c.name], set_={"value": queue_state.c.value}
            )
        )

    # --- the rotation -------------------------------------------------------------------------
    def enqueue(self, user_id: str, tier: str, at: datetime) -> None:
        statement = self._insert(queue_users).values(
            user_id=user_id, tier=tier, served_at=NEVER_SERVED, waiting=True, mark=1
        )
        statement = statement.on_conflict_do_update(
            index_elements=[queue_users.c.user_id],
            set_={"tier": tier, "waiting": True, "mark": queue_users.c.mark + 1},
        )
        self.execute(statement)

    def rotation(self, tier: str, limit: int, after: tuple[datetime, str] | None = None) -> list[InRotation]:
        """Served by ix_queue_users_rotation (a range of it, from `after`)."""
        statement = (
            sa.select(queue_users)
            .where(queue_users.c.tier == tier, queue_users.c.waiting == sa.true())
            .order_by(queue_users.c.served_at, queue_users.c.user_id)
            .limit(limit)
        )
        if after is not None:
            position = sa.tuple_(queue_users.c.served_at, queue_users.c.user_id)
            statement = statement.where(
                position > sa.tuple_(sa.literal(after[0], UtcDateTime()), sa.literal(after[1]))
            )
        return [
            InRotation(r["user_id"], r["tier"], r["served_at"], r["mark"])
            for r in self.execute(statement).mappings()
        ]

    def leave_rotation(self, user_id: str, mark: int) -> None:
        self.execute(
            sa.update(queue_users)
            .where(queue_users.c.user_id == user_id, queue_users.c.mark == mark)
            .values(waiting=False)
        )

    def served(self, user_id: str, at: datetime) -> None:
        self.execute(sa.update(queue_users).where(queue_users.c.user_id == user_id).values(served_at=at))

    def retier(self, tiers: Sequence[str], default: str) -> int:
        statement = sa.update(queue_users).where(queue_users.c.tier.not_in(list(tiers))).values(tier=default)
        return int(self.execute(statement).rowcount or 0)

    def rejoin(self, at: datetime) -> int:
        """Served by ix_jobs_queued_user: the waiting jobs, once a minute or so."""
        marked = sa.exists().where(
            queue_users.c.user_id == jobs.c.user_id, queue_users.c.waiting == sa.true()
        )
        missing = (
            sa.select(jobs.c.user_id, sa.func.max(jobs.c.tier))
            .where(_waiting, ~marked)
            .group_by(jobs.c.user_id)
        )
        found = self.execute(missing).all()
        for user_id, tier in found:
            self.enqueue(user_id, tier, at)
        return len(found)

    # --- jobs, as the queue sees them ---------------------------------------------------------
    def _jobs(self, statement: sa.Select[Any]) -> list[ImageJob]:
        return [job_from_row(r) for r in self.execute(statement).mappings()]

    def head(self, user_id: str, models: Collection[str] | None = None) -> ImageJob | None:
        """Served by ix_jobs_queued_user (a user's few waiting jobs, filtered by model)."""
        statement = (
            sa.select(jobs)
            .where(jobs.c.user_id == user_id, _waiting, _of(models))
            .order_by(jobs.c.created_at, jobs.c.id)
            .limit(1)
        )
        found = self._jobs(statement)
        return found[0] if found else None

    def _count(self, column: sa.Column[Any], where: sa.ColumnElement[bool]) -> dict[Any, int]:
        """Rows counted here, not by GROUP BY: the rows are the few jobs in the fleet's hands,
        read through their partial index (a GROUP BY makes SQLite, without statistics, walk the
        whole table in the order of another index)."""
        counts: dict[Any, int] = {}
        for (value,) in self.execute(sa.select(column).where(where)):
            counts[value] = counts.get(value, 0) + 1
        return counts

    def running_by_user(self) -> dict[str, int]:
        """Served by ix_jobs_dispatched and ix_jobs_processing_lease."""
        counts = self._count(jobs.c.user_id, _dispatched)
        for user_id, found in self._count(
            jobs.c.user_id, jobs.c.status == JobStatus.PROCESSING.value
        ).items():
            counts[user_id] = counts.get(user_id, 0) + found
        return counts

    def running_by_worker(self) -> dict[str, int]:
        """Served by ix_jobs_processing_lease: the running jobs only."""
        running = sa.and_(jobs.c.status == JobStatus.PROCESSING.value, jobs.c.worker_id.is_not(None))
        return self._count(jobs.c.worker_id, running)

    def outstanding_by_worker(self, since: datetime) -> dict[str | None, int]:
        """Served by ix_jobs_dispatched."""
        recent = sa.and_(_dispatched, jobs.c.dispatched_at >= sa.literal(since, UtcDateTime()))
        return self._count(jobs.c.dispatched_to, recent)

    def stale_dispatches(self, before: datetime, limit: int) -> list[ImageJob]:
        statement = (
            sa.select(jobs)
            .where(_dispatched, jobs.c.dispatched_at < sa.literal(before, UtcDateTime()))
            .order_by(jobs.c.dispatched_at, jobs.c.id)
            .limit(limit)
        )
        return self._jobs(statement)

    def dispatched(self, limit: int) -> list[ImageJob]:
        statement = sa.select(jobs).where(_dispatched).order_by(jobs.c.dispatched_at, jobs.c.id).limit(limit)
        return self._jobs(statement)

    def overdue(self, now: datetime, limit: int) -> list[ImageJob]:
        """Served by ix_jobs_deadline."""
        statement = (
            sa.select(jobs)
            .where(
                _queued, jobs.c.deadline_at.is_not(None), jobs.c.deadline_at <= sa.literal(now, UtcDateTime())
            )
            .order_by(jobs.c.deadline_at, jobs.c.id)
            .limit(limit)
        )
        return self._jobs(statement)

    def oldest_waiting(self, limit: int, models: Collection[str] | None = None) -> list[ImageJob]:
        """Served by ix_jobs_queued_created (dispatched jobs, a few per worker, are skipped)."""
        statement = (
            sa.select(jobs).where(_waiting, _of(models)).order_by(jobs.c.created_at, jobs.c.id).limit(limit)
        )
        return self._jobs(statement)

    def waiting_by_model(self) -> dict[str, int]:
        """From the counts kept by triggers on `jobs` (`queue_waiting`)."""
        statement = (
            sa.select(queue_waiting.c.model, sa.func.sum(queue_waiting.c.jobs))
            .where(queue_waiting.c.jobs > 0)
            .group_by(queue_waiting.c.model)
        )
        return {model: int(count) for model, count in self.execute(statement)}

    def queued_count(self, user_id: str) -> int:
        statement = sa.select(sa.func.count()).select_from(jobs).where(jobs.c.user_id == user_id, _queued)
        found: int = self.execute(statement).scalar_one()
        return found

    def waiting(self) -> dict[str, list[WaitingUser]]:
        """The waiting users' counts, kept by triggers on `jobs` (`queue_waiting`, migration 0018)."""
        counted = (
            sa.select(queue_waiting.c.user_id, sa.func.sum(queue_waiting.c.jobs).label("n"))
            .where(queue_waiting.c.jobs > 0)
            .group_by(queue_waiting.c.user_id)
            .subquery()
        )
        statement = (
            sa.select(queue_users.c.tier, queue_users.c.user_id, counted.c.n)
            .join_from(counted, queue_users, queue_users.c.user_id == counted.c.user_id)
            .order_by(queue_users.c.tier, queue_users.c.served_at, queue_users.c.user_id)
        )
        rotations: dict[str, list[WaitingUser]] = {}
        for tier, user_id, found in self.execute(statement):
            rotations.setdefault(tier, []).append(WaitingUser(user_id, int(found)))
        return rotations

    def shape(self, job: ImageJob, with_rotations: bool = True) -> QueueShape:
        """One statement (one snapshot, built once: see `_shape_statement`)."""
        params = {"job_id": job.id, "user_id": job.user_id, "created_at": job.created_at}
        found = self.execute(_shape_statement(with_rotations), params).mappings().all()
        waiting_users = sorted(
            (r for r in found if r["kind"] == "u"), key=lambda r: (r["a"], r["at"], r["b"])
        )
        rotations: dict[str, list[WaitingUser]] = {}
        for r in waiting_users:
            rotations.setdefault(r["a"], []).append(WaitingUser(r["b"], int(r["v"])))
        values = {r["a"]: float(r["v"]) for r in found if r["kind"] == "s"}
        tiers = TierClock(
            {name[len(PASS) :]: v for name, v in values.items() if name.startswith(PASS)},
            values.get(CLOCK, 0.0),
        )
        single = {r["kind"]: int(r["v"]) for r in found if r["kind"] in ("d", "n", "m")}
        return QueueShape(rotations, tiers, single.get("d", 0), single.get("n", 0) if single.get("m") else 0)

    # --- the tiers' clock, the pause switch ---------------------------------------------------
    def _values(self, *names: str, prefix: str | None = None) -> dict[str, float]:
        where: sa.ColumnElement[bool] = queue_state.c.name.in_(names)
        if prefix is not None:
            where = sa.or_(where, queue_state.c.name.startswith(prefix, autoescape=True))
        statement = sa.select(queue_state.c.name, queue_state.c.value).where(where)
        return {name: float(value) for name, value in self.execute(statement)}

    def _set(self, values: dict[str, float], at: datetime) -> None:
        for name, value in values.items():
            statement = self._insert(queue_state).values(name=name, value=value, changed_at=at)
            statement = statement.on_conflict_do_update(
                index_elements=[queue_state.c.name], set_={"value": value, "changed_at": at}
            )
            self.execute(statement)

    def tier_clock(self) -> TierClock:
        values = self._values(CLOCK, prefix=PASS)
        passes = {name[len(PASS) :]: value for name, value in values.items() if name.startswith(PASS)}
        return TierClock(passes, values.get(CLOCK, 0.0))

    def save_tier_clock(self, clock: TierClock) -> None:
        values = {CLOCK: clock.now, **{PASS + tier: value for tier, value in clock.passes.items()}}
        self._set(values, datetime.now(UTC))

    def paused(self) -> bool:
        return self._values(PAUSED).get(PAUSED, 0.0) > 0

    def set_paused(self, paused: bool, at: datetime) -> None:
        self._set({PAUSED: 1.0 if paused else 0.0}, at)

    # --- the workers' seats -------------------------------------------------------------------
    def seat(self, seat: WorkerSeat) -> None:
        """`partitions` as a JSON object: model -> partitions ("" for jobs naming no model)."""
        routes = seat.partitions
        partitions = json.dumps({m: list(p) for m, p in routes.items()}) if routes is not None else None
        values = {"capacity": seat.capacity, "partitions": partitions, "seen_at": seat.seen_at}
        statement = self._insert(queue_workers).values(worker_id=seat.worker_id, **values)
        statement = statement.on_conflict_do_update(index_elements=[queue_workers.c.worker_id], set_=values)
        self.execute(statement)

    def unseat(self, worker_id: str) -> None:
        self.execute(sa.delete(queue_workers).where(queue_workers.c.worker_id == worker_id))

    def seats(self, since: datetime) -> list[WorkerSeat]:
        statement = (
            sa.select(queue_workers)
            .where(queue_workers.c.seen_at >= sa.literal(since, UtcDateTime()))
            .order_by(queue_workers.c.worker_id)
        )
        return [
            WorkerSeat(
                r["worker_id"],
                r["capacity"],
                _routes(r["partitions"]),
                r["seen_at"],
            )
            for r in self.execute(statement).mappings()
        ]
