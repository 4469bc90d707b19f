"""The database side of the fair queue: who waits in which tier's rotation, what is dispatched
to which worker, the workers' seats, the tiers' virtual times and the pause switch."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from nexus_image.domain.job import ImageJob
from nexus_image.domain.queue import TierClock, WaitingUser


@dataclass(frozen=True, slots=True)
class WorkerSeat:
    """A worker that takes jobs: how many it may have dispatched and not started yet
    (`capacity`), per model it serves ("" for jobs that name none) the transport partitions of
    that model's jobs it reads (None: it reads the one queue, any job; a model with no
    partition yet gets nothing aimed at it) and when it last said so."""

    worker_id: str
    capacity: int
    partitions: Mapping[str, tuple[int, ...]] | None
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class InRotation:
    """A user marked as having images waiting in `tier`; `mark` changes with every new one."""

    user_id: str
    tier: str
    served_at: datetime
    mark: int


@dataclass(frozen=True, slots=True)
class QueueShape:
    """What a waiting job's place is computed from, read at one instant (one snapshot): each
    tier's rotation with its users' waiting images, the tiers' virtual times, the jobs dispatched
    and not started, and the job's rank among its owner's waiting jobs (0: not waiting any more)."""

    rotations: dict[str, list[WaitingUser]]
    clock: TierClock
    dispatched: int
    nth: int


class Leadership(Protocol):
    """One dispatcher at a time: `hold()` is True while this process is (or just became) the
    one; a process that dies lets another take over. `release()` gives it up."""

    def hold(self) -> bool: ...
    def release(self) -> None: ...


class QueueRepository(Protocol):
    def lock(self) -> None:
        """Wait for, then hold until this transaction ends, the queue's own lock: rounds of the
        dispatcher, pause and resume take it first, so none of them decides on what another is
        changing (two dispatchers for a moment, a pause during a round)."""

    def enqueue(self, user_id: str, tier: str, at: datetime) -> None:
        """The user has an image waiting, in `tier` (their latest request's): they are in that
        tier's rotation, keeping their place (when they were last served)."""

    def rotation(self, tier: str, limit: int, after: tuple[datetime, str] | None = None) -> list[InRotation]:
        """Users of `tier` marked waiting, served least recently first (ties by id), from just
        after `after` (served_at, user id) when given."""

    def head(self, user_id: str, models: Collection[str] | None = None) -> ImageJob | None:
        """The user's oldest QUEUED job not dispatched yet (of `models` where given; "" stands
        for jobs that name no model)."""

    def leave_rotation(self, user_id: str, mark: int) -> None:
        """Unmark the user, unless they were marked again since `mark` was read."""

    def served(self, user_id: str, at: datetime) -> None: ...
    def retier(self, tiers: Sequence[str], default: str) -> int:
        """Users in a rotation of a tier no longer configured move to `default`; how many."""

    def rejoin(self, at: datetime) -> int:
        """Users with jobs waiting who are not marked waiting (jobs written by an older version,
        say) are marked, in their latest waiting job's tier; how many."""

    def running_by_user(self) -> dict[str, int]:
        """Per user: their jobs dispatched or running (what the running cap counts)."""

    def running_by_worker(self) -> dict[str, int]:
        """Per worker: the jobs it is running (PROCESSING under its id)."""

    def outstanding_by_worker(self, since: datetime) -> dict[str | None, int]:
        """Jobs dispatched at or after `since` and not started, per worker they were aimed at."""

    def stale_dispatches(self, before: datetime, limit: int) -> list[ImageJob]:
        """Jobs dispatched before `before` and still not started, oldest dispatch first."""

    def dispatched(self, limit: int) -> list[ImageJob]:
        """Jobs dispatched and not started."""

    def overdue(self, now: datetime, limit: int) -> list[ImageJob]:
        """QUEUED jobs whose deadline is at or before `now`, earliest deadline first."""

    def oldest_waiting(self, limit: int, models: Collection[str] | None = None) -> list[ImageJob]:
        """QUEUED jobs not dispatched (of `models` where given, as `head`), oldest first."""

    def waiting_by_model(self) -> dict[str, int]:
        """Images waiting (QUEUED, not dispatched) per model ("" for jobs that name none)."""

    def queued_count(self, user_id: str) -> int:
        """The user's QUEUED jobs, dispatched or not."""

    def waiting(self) -> dict[str, list[WaitingUser]]:
        """Per tier, its users with images waiting, in rotation order, with how many."""

    def shape(self, job: ImageJob, with_rotations: bool = True) -> QueueShape:
        """The queue as `job`'s place needs it, consistent in itself (one statement in SQL: a
        job dispatched meanwhile is counted once, never both waiting and dispatched). Without
        rotations (`rotations` empty): for a caller that keeps a recent `waiting()` itself."""

    def tier_clock(self) -> TierClock: ...
    def save_tier_clock(self, clock: TierClock) -> None: ...
    def paused(self) -> bool: ...
    def set_paused(self, paused: bool, at: datetime) -> None: ...
    def seat(self, seat: WorkerSeat) -> None:
        """Record (or refresh) a worker's seat."""

    def unseat(self, worker_id: str) -> None: ...
    def seats(self, since: datetime) -> list[WorkerSeat]:
        """Workers seen at or after `since`, by id."""
