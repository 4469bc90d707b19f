"""Job leases: a worker holds a running job under a lease it renews while generating; recovery
hands back a job whose lease expired, and fails it (refunded) after the last attempt."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from nexus_image.domain import GenerationProgress
from tests.support.driver import hand_out
from tests.unit.conftest import World


class OnStep:
    """Runs `action(step)` at every progress event the worker publishes."""

    def __init__(self, action: Callable[[int], None]) -> None:
        self.action = action

    def publish(self, event: object) -> None:
        if isinstance(event, GenerationProgress):
            self.action(event.step)


def lease_of(world: World, job_id: str) -> object:
    with world.store.unit_of_work() as uow:
        job = uow.jobs.get(job_id)
        assert job is not None
        return job.lease_expires_at


def test_a_job_being_generated_keeps_its_lease_and_is_never_recovered(world: World) -> None:
    job = world.request(steps=12)
    hand_out(world.service)
    worker = world.service.worker
    leases: list[object] = []
    recovered: list[tuple[int, int]] = []

    def slow_step(step: int) -> None:
        world.clock.advance(seconds=worker.claim.lease.total_seconds() / 4)  # 12 steps: three leases long
        leases.append(lease_of(world, job.id))
        recovered.append(world.service.recover.execute())

    worker.render.live_events = OnStep(slow_step)
    assert world.service.process(job.id).status == "COMPLETED"
    assert set(recovered) == {(0, 0)}
    assert len(set(leases)) >= 3  # renewed several times ...
    writes = len(set(leases))
    assert writes <= 12 // 2  # ... but not at every step


def test_an_expired_lease_hands_the_job_back_and_the_old_worker_settles_nothing(world: World) -> None:
    job = world.request(steps=6)
    hand_out(world.service)
    world.queue.receive(1, 0)
    worker = world.service.worker
    worker.claim.worker_id = "stuck-worker"
    worker.render.pacing.progress_every = timedelta(0)  # an event at every step, to act at step 2
    taken_over: list[int] = []

    def stall_then_lose_it(step: int) -> None:
        if step == 2:  # the worker stalls longer than its lease; another one takes the job
            world.clock.advance(seconds=worker.claim.lease.total_seconds() * 2)
            assert world.service.recover.execute() == (1, 0)
            worker.claim.worker_id = "second-worker"
            hand_out(world.service)
            [delivery] = world.queue.receive(1, 0)
            taken_over.append(step)
            assert world.service.worker.claim.start(delivery.job_id)  # held by the second worker now
            worker.claim.worker_id = "stuck-worker"

    worker.render.live_events = OnStep(stall_then_lose_it)
    outcome = world.service.process(job.id)
    assert taken_over == [2]
    assert outcome.detail == "stopped between steps"  # stopped at the next step ...
    assert world.storage.objects == {}  # ... keeping nothing
    with world.store.unit_of_work() as uow:
        current = uow.jobs.get(job.id)
    assert current is not None
    assert (current.status.value, current.worker_id, current.attempts) == ("PROCESSING", "second-worker", 2)
    assert world.balance() == 95 and world.ledger_sum() == 95  # charged once, not refunded


def test_the_last_attempt_fails_with_one_refund_and_recovery_wakes_at_the_earliest_lease(
    world: World,
) -> None:
    recover = world.service.recover
    recover.max_attempts = 2
    job = world.request()
    hand_out(world.service)
    world.service.worker.claim.worker_id = "dead-worker"
    world.service.worker.claim.start(job.id)
    assert recover.next_expiry() == world.clock.now() + world.service.worker.claim.lease
    assert recover.execute() == (0, 0)  # the lease still runs
    world.clock.advance(seconds=31)
    assert recover.execute() == (1, 0)
    assert recover.next_expiry() is None
    world.service.worker.claim.start(job.id)
    world.clock.advance(minutes=1)
    assert recover.execute() == (0, 1)
    view = world.service.get_image("alice", job.id)
    assert view.status == "FAILED" and view.failure_reason == "worker stopped answering (2 attempts)"
    assert world.balance() == 100 == world.ledger_sum()


def test_every_running_job_is_handed_back_when_the_process_knows_it_ran_them_all(world: World) -> None:
    job = world.request()
    hand_out(world.service)
    world.service.worker.claim.start(job.id)  # the lease is fresh
    assert world.service.recover.execute() == (0, 0)
    assert world.service.recover.execute(all_running=True) == (1, 0)
    assert world.service.get_image("alice", job.id).status == "QUEUED"
    assert lease_of(world, job.id) is None


def test_a_lease_is_renewed_only_for_the_worker_that_holds_it(world: World) -> None:
    job = world.request()
    hand_out(world.service)
    world.service.worker.claim.worker_id = "w1"
    world.service.worker.claim.start(job.id)
    with world.store.unit_of_work() as uow:
        running = uow.jobs.get(job.id)
    assert running is not None
    later = world.clock.now() + timedelta(minutes=5)
    assert not running.renew_lease("w2", later)
    assert running.renew_lease("w1", later) and running.lease_expires_at == later
    assert not running.lease_expired(later - timedelta(seconds=1)) and running.lease_expired(later)
