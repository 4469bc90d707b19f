"""The dispatcher: jobs wait in the database and are handed to the workers (dispatched) one by
one in the order of the fair-share policy, only as workers have room; and what operators do with
the queue (look at it, pause it, resume it)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from nexus_image.application.ports import (
    Clock,
    IdGenerator,
    InRotation,
    Metrics,
    NullMetrics,
    UnitOfWork,
    UnitOfWorkFactory,
    WorkerSeat,
)
from nexus_image.application.transactions import call_back, in_transaction, record
from nexus_image.domain.job import ImageJob, JobStatus
from nexus_image.domain.queue import Tier, TierClock, TierPolicy

Models = frozenset[str] | None  # the models a slot takes ("": jobs that name none); None: any


@dataclass(frozen=True, slots=True)
class Slot:
    """Room for one job at a worker (None: no worker in particular): the models it takes, each
    with the transport partitions of that model's jobs it reads (None: one queue, any job), and
    the slot's number at that worker (it picks the partition, so a worker's slots spread over
    its partitions)."""

    worker_id: str | None = None
    routes: Mapping[str, tuple[int, ...]] | None = None
    index: int = 0

    @property
    def models(self) -> Models:
        if self.routes is None:
            return None
        return frozenset(model for model, partitions in self.routes.items() if partitions)

    def partition(self, job: ImageJob) -> int | None:
        if self.routes is None:
            return None
        partitions = self.routes[job.parameters.model or ""]
        return partitions[self.index % len(partitions)]

    def takes(self, job: ImageJob) -> bool:
        models = self.models
        return models is None or (job.parameters.model or "") in models


AGED_SCAN = 100  # the oldest waiting jobs looked at for one past the aging bound
ROTATION_PAGE = 50  # users of a tier's rotation read at a time (capped ones are skipped)
OVERDUE_BATCH = 200
EVER = datetime(1970, 1, 1, tzinfo=UTC)  # `outstanding_by_worker(EVER)`: every dispatch not started


@dataclass(slots=True)
class _Pick:
    tier: Tier
    user: InRotation
    job: ImageJob


@dataclass(slots=True)
class DispatchJobs:
    """One round of the dispatcher. Jobs whose deadline passed are EXPIRED (refunded) first,
    paused or not. Then, unless the queue is paused, each free slot of a worker (its seat's
    capacity, less what was dispatched to it and not started yet) gets the next job of the
    policy (see domain.queue): the oldest job waiting past the aging bound if there is one,
    else the next user of the tier with the smallest virtual time, skipping users at their
    running cap (their jobs stay queued and hold nobody else up). A dispatch not started after
    `redispatch_after` (its message lost with a broker or a process) is sent again.

    Everything a round decides is written in one transaction with the dispatch messages (the
    outbox relays them), so a dispatcher that dies mid-round leaves nothing half done."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    policy: TierPolicy = field(default_factory=TierPolicy)
    metrics: Metrics = field(default_factory=NullMetrics)
    seat_ttl: timedelta = timedelta(seconds=10)
    redispatch_after: timedelta = timedelta(seconds=60)
    tidy_every: timedelta = timedelta(seconds=60)
    _tidied_at: datetime | None = field(default=None, init=False, repr=False)

    def execute(self, room: int | None = None) -> int:
        """One round, in one transaction; how many jobs were dispatched. With `room`, up to that
        many go to no worker in particular (a process that runs what it dispatches itself)
        instead of to the seats' free slots."""
        now = self.clock.now()
        tidy = self._tidied_at is None or now - self._tidied_at >= self.tidy_every
        sent, expired = in_transaction(self.uow_factory, lambda uow: self._round(uow, room, tidy))
        if tidy:
            self._tidied_at = now
        for tier in expired:
            self.metrics.job_expired(tier)
        return sent

    def _tidy(self, uow: UnitOfWork, now: datetime) -> None:
        """Now and then: users with jobs waiting but in no rotation (jobs written by an older
        version) join one; users in the rotation of a tier no longer configured move to the
        default one. Nobody is left where no round looks."""
        uow.queue.rejoin(now)
        uow.queue.retier(self.policy.names, self.policy.default)

    def _expire(self, uow: UnitOfWork, now: datetime) -> list[str]:
        """Every QUEUED job past its deadline ends EXPIRED, refunded (paused or not); their tiers."""
        expired = uow.queue.overdue(now, OVERDUE_BATCH)
        for job in expired:
            record(uow, job, job.expire(now, event_id=self.ids.new_id()), self.clock)
        return [job.tier for job in expired]

    def _round(self, uow: UnitOfWork, room: int | None, tidy: bool) -> tuple[int, list[str]]:
        uow.queue.lock()  # one round at a time, never beside a pause
        now = self.clock.now()
        if tidy:
            self._tidy(uow, now)
        expired = self._expire(uow, now)
        if uow.queue.paused():
            return 0, expired
        slots = [Slot()] * room if room is not None else self._slots(uow, now)
        if not slots:
            return 0, expired
        free = self._send_again(uow, now, slots)
        sent = len(slots) - len(free)
        running = uow.queue.running_by_user()
        tiers = uow.queue.tier_clock()
        picks: dict[tuple[Models, str], _Pick | None] = {}
        empty: set[Models] = set()  # slots taking these models found nothing: nor will the next
        for slot in free:
            if slot.models in empty:
                continue
            job = self._next(uow, now, running, tiers, picks, slot.models)
            if job is None:
                empty.add(slot.models)
                continue
            event = job.dispatch(now, slot.worker_id, slot.partition(job), event_id=self.ids.new_id())
            record(uow, job, event, self.clock)
            # one after the other: users served in one round keep the order they were served in
            uow.queue.served(job.user_id, now + timedelta(microseconds=sent))
            running[job.user_id] = running.get(job.user_id, 0) + 1
            sent += 1
        uow.queue.save_tier_clock(tiers)
        return sent, expired

    def _slots(self, uow: UnitOfWork, now: datetime) -> list[Slot]:
        """One slot per job a worker may still be sent, the least loaded workers' first (load:
        jobs running and sent ahead), so the next job goes to an idle worker rather than wait
        behind a busy one's long generation."""
        outstanding = uow.queue.outstanding_by_worker(now - self.redispatch_after)
        running = uow.queue.running_by_worker()
        loaded: list[tuple[int, str, Slot]] = []
        for seat in uow.queue.seats(now - self.seat_ttl):
            ahead = outstanding.get(seat.worker_id, 0)
            load = running.get(seat.worker_id, 0) + ahead
            for extra, slot in enumerate(_seat_slots(seat, ahead)):
                loaded.append((load + extra, seat.worker_id, slot))
        loaded.sort(key=lambda item: (item[0], item[1]))
        unaimed = outstanding.get(None, 0)  # sent to no worker in particular: they take room too
        return [slot for *_, slot in loaded][unaimed:]

    def _send_again(self, uow: UnitOfWork, now: datetime, slots: list[Slot]) -> list[Slot]:
        """Dispatches not started after `redispatch_after` get a new message first, each in the
        first free slot that takes its model; the slots left."""
        free = list(slots)
        for job in uow.queue.stale_dispatches(now - self.redispatch_after, 100):
            slot = next((s for s in free if s.takes(job)), None)
            if slot is None:
                continue
            free.remove(slot)
            event = job.dispatch(now, slot.worker_id, slot.partition(job), event_id=self.ids.new_id())
            record(uow, job, event, self.clock)
            if not free:
                break
        return free

    def _next(
        self,
        uow: UnitOfWork,
        now: datetime,
        running: dict[str, int],
        tiers: TierClock,
        picks: dict[tuple[Models, str], _Pick | None],
        models: Models,
    ) -> ImageJob | None:
        """The policy's next job among those of `models` (see DispatchJobs). `picks` keeps each
        tier's next pick per set of models, until that tier's rotation moves."""
        aged = self._aged(uow, now, running, models)
        weights = self.policy.weights()
        if aged is not None:
            tier = self.policy.tier(aged.tier)
            tiers.served(tier.name, weights[tier.name])
            picks.clear()  # a user's head moved: look again
            return aged
        for tier in self.policy.tiers:
            if (models, tier.name) not in picks:
                picks[models, tier.name] = self._pick(uow, tier, running, models)
        candidates = {
            name: pick for (among, name), pick in picks.items() if among == models and pick is not None
        }
        chosen = tiers.choose(candidates, weights)
        if chosen is None:
            return None
        tiers.served(chosen, weights[chosen])
        for key in [key for key in picks if key[1] == chosen]:
            del picks[key]  # its rotation moved on, for every set of models
        return candidates[chosen].job

    def _aged(
        self, uow: UnitOfWork, now: datetime, running: dict[str, int], models: Models
    ) -> ImageJob | None:
        """The oldest waiting job of `models` past the aging bound whose user may run one more."""
        if self.policy.max_wait_seconds <= 0:
            return None
        bound = now - timedelta(seconds=self.policy.max_wait_seconds)
        for job in uow.queue.oldest_waiting(AGED_SCAN, models):
            if job.created_at > bound:
                return None
            if not self.policy.tier(job.tier).at_running_cap(running.get(job.user_id, 0)):
                return job
        return None

    def _pick(self, uow: UnitOfWork, tier: Tier, running: dict[str, int], models: Models) -> _Pick | None:
        """The tier's next user (served least recently, not at the running cap) with a job of
        `models` waiting, and their oldest such job; users found with nothing waiting at all
        leave the rotation (one with jobs of other models only stays in it)."""
        after: tuple[datetime, str] | None = None
        while True:
            users = uow.queue.rotation(tier.name, ROTATION_PAGE, after)
            for user in users:
                after = (user.served_at, user.user_id)
                if tier.at_running_cap(running.get(user.user_id, 0)):
                    continue
                job = uow.queue.head(user.user_id, models)
                if job is None:
                    if models is None or uow.queue.head(user.user_id) is None:
                        uow.queue.leave_rotation(user.user_id, user.mark)
                    continue
                return _Pick(tier, user, job)
            if len(users) < ROTATION_PAGE:
                return None


def _seat_slots(seat: WorkerSeat, outstanding: int) -> Iterator[Slot]:
    """The seat's free slots (none where it reads no partition yet: nothing aimed at it would
    reach it; any job where it reads the one queue)."""
    if seat.partitions is not None and not any(seat.partitions.values()):
        return
    for index in range(outstanding, seat.capacity):
        yield Slot(seat.worker_id, seat.partitions, index)


@dataclass(frozen=True, slots=True)
class TierStatus:
    name: str
    weight: float
    max_queued: int
    max_running: int
    waiting_images: int
    waiting_users: int


@dataclass(frozen=True, slots=True)
class QueueStatus:
    paused: bool
    tiers: list[TierStatus]
    dispatched: int  # handed to workers, not started yet
    running: int
    workers: list[WorkerSeat]
    oldest_waiting_seconds: float | None


@dataclass(slots=True)
class ManageQueue:
    """What operators do with the queue. Paused, requests are still accepted and charged, and
    nothing is started: jobs already dispatched are called back (their messages are skipped)
    and dispatching stops until `resume`. Workers keep their seats: `seat` is how a worker says
    it takes jobs (its room and partitions), `unseat` how it says it stopped."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    policy: TierPolicy = field(default_factory=TierPolicy)
    seat_ttl: timedelta = timedelta(seconds=10)

    def status(self) -> QueueStatus:
        with self.uow_factory() as uow:
            now = self.clock.now()
            waiting = uow.queue.waiting()
            counts = uow.jobs.count_by_status((JobStatus.PROCESSING,))
            oldest = uow.queue.oldest_waiting(1)
            tiers = [
                TierStatus(
                    t.name,
                    t.weight,
                    t.max_queued,
                    t.max_running,
                    sum(u.waiting for u in waiting.get(t.name, [])),
                    len(waiting.get(t.name, [])),
                )
                for t in self.policy.tiers
            ]
            return QueueStatus(
                paused=uow.queue.paused(),
                tiers=tiers,
                dispatched=sum(uow.queue.outstanding_by_worker(EVER).values()),
                running=counts.get(JobStatus.PROCESSING.value, 0),
                workers=uow.queue.seats(now - self.seat_ttl),
                oldest_waiting_seconds=(now - oldest[0].created_at).total_seconds() if oldest else None,
            )

    def pause(self) -> int:
        """Stop dispatching; jobs dispatched and not started wait for their turn again. Returns
        how many were called back."""

        def work(uow: UnitOfWork) -> int:
            now = self.clock.now()
            uow.queue.lock()  # after any round in progress, before the next
            uow.queue.set_paused(True, now)
            called_back = uow.queue.dispatched(100_000)
            for job in called_back:
                call_back(uow, job, self.clock)
            return len(called_back)

        return in_transaction(self.uow_factory, work)

    def resume(self) -> None:
        def work(uow: UnitOfWork) -> None:
            uow.queue.lock()
            uow.queue.set_paused(False, self.clock.now())

        in_transaction(self.uow_factory, work)

    def seat(self, worker_id: str, capacity: int, partitions: Mapping[str, tuple[int, ...]] | None) -> None:
        seat = WorkerSeat(worker_id, capacity, partitions, self.clock.now())
        in_transaction(self.uow_factory, lambda uow: uow.queue.seat(seat))

    def unseat(self, worker_id: str) -> None:
        in_transaction(self.uow_factory, lambda uow: uow.queue.unseat(worker_id))
