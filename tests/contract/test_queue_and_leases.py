"""Queue position, time estimates and leases, on every backend (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import pytest

from nexus_image.application import images as images_module
from nexus_image.domain import GenerationProgress
from tests.support.driver import hand_out

from .conftest import Stack


class AdvanceClock:
    """Makes every step of generation take `seconds` on the stack's manual clock."""

    def __init__(self, stack: Stack, seconds: float) -> None:
        self.stack, self.seconds = stack, seconds

    def publish(self, event: object) -> None:
        if isinstance(event, GenerationProgress):
            self.stack.clock.advance(seconds=self.seconds)


def test_queue_position_counts_down_and_the_estimate_follows_recent_generations(stack: Stack) -> None:
    jobs = []
    for seed in range(4):
        jobs.append(stack.request(seed=seed).id)
        stack.clock.advance(seconds=1)
    positions = [stack.service.get_image("alice", j).queue_position for j in jobs]
    assert positions == [1, 2, 3, 4]
    assert stack.service.get_image("alice", jobs[3]).eta_seconds is None  # nothing measured yet

    stack.service.worker.render.live_events = AdvanceClock(stack, 4.0)  # 2 steps: 8 s a generation
    assert stack.service.process(jobs[0]).status == "COMPLETED"
    stack.clock.advance(seconds=10)  # past the estimates' few seconds of caching
    last = stack.service.get_image("alice", jobs[3])
    assert last.queue_position == 3
    assert last.eta_seconds == 24  # three generations of 8 s, one worker
    done = stack.service.get_image("alice", jobs[0])
    assert (done.queue_position, done.eta_seconds) == (None, None)
    assert stack.service.images.queue_status("alice", jobs[1]) == (1, 8)


def test_live_state_lists_unfinished_jobs_and_those_finished_since(stack: Stack) -> None:
    old = stack.request(seed=1).id
    stack.run_queue()
    stack.clock.advance(minutes=30)
    since = stack.clock.now()
    recent = stack.request(seed=2).id
    stack.run_queue()
    waiting = stack.request(seed=3).id
    state = stack.service.images.live_state("alice", since)
    assert [(v.id, v.status) for v in state] == [(recent, "COMPLETED"), (waiting, "QUEUED")]
    assert state[1].queue_position == 1
    assert old not in {v.id for v in state}
    assert stack.service.images.live_state("bob", since) == []


def test_active_workers_are_those_holding_an_unexpired_lease(stack: Stack) -> None:
    a, b = stack.request(seed=1).id, stack.request(seed=2).id
    hand_out(stack.service)
    claim = stack.service.worker.claim
    for job, name in ((a, "w1"), (b, "w2")):
        claim.worker_id = name
        claim.start(job)
    with stack.backend.uow_factory() as uow:
        assert uow.jobs.active_workers(stack.clock.now()) == 2
        assert uow.jobs.active_workers(stack.clock.now() + claim.lease) == 0
        assert uow.jobs.next_lease_expiry() == stack.clock.now() + claim.lease
    stack.clock.advance(seconds=claim.lease.total_seconds() + 1)
    assert stack.service.recover.execute() == (2, 0)
    with stack.backend.uow_factory() as uow:
        assert uow.jobs.next_lease_expiry() is None
        assert uow.jobs.get(a).lease_expires_at is None  # type: ignore[union-attr]


def test_a_deep_queues_rotations_are_read_every_few_seconds_not_per_place(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past `ROTATION_CACHED_FROM` waiting users (2 here, thousands in service) a place reads the
    others' counts at most every `rotations_ttl` (read again in the background, used at most
    twice that long): it lags their changes, and a user who joined since is read at once."""
    monkeypatch.setattr(images_module, "ROTATION_CACHED_FROM", 2)
    jobs = {user: stack.request(user, seed=1).id for user in ("alice", "bob", "carol")}
    assert stack.service.get_image("carol", jobs["carol"]).queue_position == 3
    stack.service.cancel("bob", jobs["bob"])
    assert stack.service.get_image("carol", jobs["carol"]).queue_position == 3  # bob's count, kept
    stack.clock.advance(seconds=3)  # past rotations_ttl (2 s): still used, read again meanwhile
    assert stack.service.get_image("carol", jobs["carol"]).queue_position == 3
    stack.service.images._refreshing.acquire(timeout=10)  # the background read has finished
    stack.service.images._refreshing.release()
    assert stack.service.get_image("carol", jobs["carol"]).queue_position == 2
    stack.clock.advance(seconds=5)  # past twice rotations_ttl: read with the place
    dave = stack.request("dave", seed=1).id  # not in the kept rotations: read again at once
    assert stack.service.get_image("dave", dave).queue_position == 3
    monkeypatch.setattr(images_module, "ROTATION_CACHED_FROM", 500)  # few users: read with each place
    stack.clock.advance(seconds=5)
    assert stack.service.get_image("carol", jobs["carol"]).queue_position == 2
    stack.service.cancel("alice", jobs["alice"])
    assert stack.service.get_image("carol", jobs["carol"]).queue_position == 1
