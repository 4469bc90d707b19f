"""The fair queue's state in memory: staged operations, replayed on the shared store at commit
(each one checked again there, as a SQL statement would be)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from nexus_image.application.ports import InRotation, QueueShape, WorkerSeat
from nexus_image.domain.job import ImageJob, JobStatus
from nexus_image.domain.queue import TierClock, WaitingUser

if TYPE_CHECKING:
    from nexus_image.adapters.memory.database import MemoryStore
    from nexus_image.adapters.memory.repositories import MemoryJobs

NEVER_SERVED = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class QueueState:
    """users: user id -> [tier, served_at, waiting, mark]."""

    users: dict[str, list[object]] = field(default_factory=dict)
    clock: TierClock = field(default_factory=TierClock)
    paused: bool = False
    seats: dict[str, WorkerSeat] = field(default_factory=dict)


Operation = Callable[[QueueState], None]


class MemoryQueue:
    def __init__(self, store: MemoryStore, jobs: MemoryJobs) -> None:
        self.store = store
        self.jobs = jobs
        self.ops: list[Operation] = []
        self._locked = False

    def lock(self) -> None:
        if not self._locked:
            self.store.queue_lock.acquire()
            self._locked = True

    def release(self) -> None:
        """The unit of work ended: its hold on the queue's lock ends too."""
        if self._locked:
            self._locked = False
            self.store.queue_lock.release()

    # --- staging ------------------------------------------------------------------------------
    def _state(self) -> QueueState:
        with self.store.lock:
            state = copy.deepcopy(self.store.queue)
        for op in self.ops:
            op(state)
        return state

    def check(self) -> None:
        return None

    def apply(self) -> None:
        for op in self.ops:
            op(self.store.queue)

    # --- the rotation -------------------------------------------------------------------------
    def enqueue(self, user_id: str, tier: str, at: datetime) -> None:
        def op(state: QueueState) -> None:
            row = state.users.setdefault(user_id, [tier, NEVER_SERVED, True, 0])
            row[0], row[2], row[3] = tier, True, int(row[3]) + 1  # type: ignore[call-overload]

        self.ops.append(op)

    def rotation(self, tier: str, limit: int, after: tuple[datetime, str] | None = None) -> list[InRotation]:
        rows = [
            InRotation(user, str(row[0]), row[1], int(row[3]))  # type: ignore[arg-type,call-overload]
            for user, row in self._state().users.items()
            if row[0] == tier and row[2]
        ]
        rows = [r for r in rows if after is None or (r.served_at, r.user_id) > after]
        rows.sort(key=lambda r: (r.served_at, r.user_id))
        return rows[:limit]

    def leave_rotation(self, user_id: str, mark: int) -> None:
        def op(state: QueueState) -> None:
            row = state.users.get(user_id)
            if row is not None and row[3] == mark:
                row[2] = False

        self.ops.append(op)

    def served(self, user_id: str, at: datetime) -> None:
        def op(state: QueueState) -> None:
            row = state.users.get(user_id)
            if row is not None:
                row[1] = at

        self.ops.append(op)

    def retier(self, tiers: Sequence[str], default: str) -> int:
        moved = [u for u, row in self._state().users.items() if row[0] not in tiers]

        def op(state: QueueState) -> None:
            for row in state.users.values():
                if row[0] not in tiers:
                    row[0] = default

        self.ops.append(op)
        return len(moved)

    def rejoin(self, at: datetime) -> int:
        users = self._state().users
        latest: dict[str, str] = {}
        for job in self._queued():
            if job.dispatched_at is None and not (job.user_id in users and users[job.user_id][2]):
                latest[job.user_id] = job.tier
        for user, tier in latest.items():
            self.enqueue(user, tier, at)
        return len(latest)

    # --- jobs, as the queue sees them ---------------------------------------------------------
    def _queued(self) -> list[ImageJob]:
        jobs = [j for j in self.jobs.merged() if j.status is JobStatus.QUEUED]
        return sorted(jobs, key=lambda j: (j.created_at, j.id))

    def head(self, user_id: str, models: Collection[str] | None = None) -> ImageJob | None:
        return next(
            (
                j
                for j in self._queued()
                if j.user_id == user_id and j.dispatched_at is None and _of(j, models)
            ),
            None,
        )

    def running_by_user(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for job in self.jobs.merged():
            if job.status is JobStatus.PROCESSING or job.dispatched:
                counts[job.user_id] = counts.get(job.user_id, 0) + 1
        return counts

    def running_by_worker(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for job in self.jobs.merged():
            if job.status is JobStatus.PROCESSING and job.worker_id is not None:
                counts[job.worker_id] = counts.get(job.worker_id, 0) + 1
        return counts

    def outstanding_by_worker(self, since: datetime) -> dict[str | None, int]:
        counts: dict[str | None, int] = {}
        for job in self._queued():
            if job.dispatched_at is not None and job.dispatched_at >= since:
                counts[job.dispatched_to] = counts.get(job.dispatched_to, 0) + 1
        return counts

    def stale_dispatches(self, before: datetime, limit: int) -> list[ImageJob]:
        stale = [j for j in self._queued() if j.dispatched_at is not None and j.dispatched_at < before]
        return sorted(stale, key=lambda j: (j.dispatched_at or before, j.id))[:limit]

    def dispatched(self, limit: int) -> list[ImageJob]:
        sent = [j for j in self._queued() if j.dispatched_at is not None]
        return sorted(sent, key=lambda j: (j.dispatched_at or j.created_at, j.id))[:limit]

    def overdue(self, now: datetime, limit: int) -> list[ImageJob]:
        due = [j for j in self._queued() if j.overdue(now)]
        return sorted(due, key=lambda j: (j.deadline_at or now, j.id))[:limit]

    def oldest_waiting(self, limit: int, models: Collection[str] | None = None) -> list[ImageJob]:
        return [j for j in self._queued() if j.dispatched_at is None and _of(j, models)][:limit]

    def waiting_by_model(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for job in self._queued():
            if job.dispatched_at is None:
                model = job.parameters.model or ""
                counts[model] = counts.get(model, 0) + 1
        return counts

    def queued_count(self, user_id: str) -> int:
        return sum(1 for j in self._queued() if j.user_id == user_id)

    def waiting(self) -> dict[str, list[WaitingUser]]:
        counts: dict[str, int] = {}
        for job in self._queued():
            if job.dispatched_at is None:
                counts[job.user_id] = counts.get(job.user_id, 0) + 1
        users = self._state().users
        ordered = sorted(
            (u for u in counts if u in users),
            key=lambda u: (str(users[u][0]), users[u][1], u),
        )
        rotations: dict[str, list[WaitingUser]] = {}
        for user in ordered:
            rotations.setdefault(str(users[user][0]), []).append(WaitingUser(user, counts[user]))
        return rotations

    def shape(self, job: ImageJob, with_rotations: bool = True) -> QueueShape:
        with self.store.lock:  # one instant: no commit lands between the reads
            queued = self._queued()
            mine = next((j for j in queued if j.id == job.id and j.dispatched_at is None), None)
            return QueueShape(
                self.waiting() if with_rotations else {},
                self.tier_clock(),
                sum(1 for j in queued if j.dispatched_at is not None),
                _rank_among_own(queued, mine) if mine is not None else 0,
            )

    # --- the tiers' clock, the pause switch, the seats ----------------------------------------
    def tier_clock(self) -> TierClock:
        return copy.deepcopy(self._state().clock)

    def save_tier_clock(self, clock: TierClock) -> None:
        saved = copy.deepcopy(clock)

        def op(state: QueueState) -> None:
            state.clock = copy.deepcopy(saved)

        self.ops.append(op)

    def paused(self) -> bool:
        return self._state().paused

    def set_paused(self, paused: bool, at: datetime) -> None:
        def op(state: QueueState) -> None:
            state.paused = paused

        self.ops.append(op)

    def seat(self, seat: WorkerSeat) -> None:
        def op(state: QueueState) -> None:
            state.seats[seat.worker_id] = seat

        self.ops.append(op)

    def unseat(self, worker_id: str) -> None:
        def op(state: QueueState) -> None:
            state.seats.pop(worker_id, None)

        self.ops.append(op)

    def seats(self, since: datetime) -> list[WorkerSeat]:
        return sorted(
            (s for s in self._state().seats.values() if s.seen_at >= since), key=lambda s: s.worker_id
        )


def _rank_among_own(queued: list[ImageJob], job: ImageJob) -> int:
    """1 + the owner's waiting jobs before `job` (`queued` in queue order)."""
    mine = [j for j in queued if j.user_id == job.user_id and j.dispatched_at is None]
    return 1 + [j.id for j in mine].index(job.id)


def _of(job: ImageJob, models: Collection[str] | None) -> bool:
    """The job is of `models` ("" stands for jobs that name none); every job is, for None."""
    return models is None or (job.parameters.model or "") in models
