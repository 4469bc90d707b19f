"""Tokens, cleanup of old failures, stalled-job recovery and the outbox relay."""

from __future__ import annotations

import pytest

from nexus_image.domain import GenerationDispatched, GenerationRequested, InvalidAmount
from tests.support.driver import hand_out

from .conftest import World, make_world


def test_welcome_grant_and_grants_are_in_the_ledger() -> None:
    world = make_world(welcome_grant=30)
    assert world.balance("carol") == 30
    assert world.service.tokens.grant("carol", 20, "promo").balance == 50
    assert [(e.kind.value, e.amount) for e in world.service.tokens.ledger("carol")] == [
        ("GRANT", 30),
        ("GRANT", 20),
    ]
    with pytest.raises(InvalidAmount):
        world.service.tokens.grant("carol", 0)
    assert make_world(welcome_grant=0).balance("dave") == 0


def test_cleanup_removes_failed_jobs_older_than_a_day_with_their_files(world: World) -> None:
    old = world.request()
    world.generator.fail_with = RuntimeError("boom")
    world.run_queue()
    world.storage.put(f"images/alice/{old.id}.png", b"partial", "image/png", {})  # left by a crash
    world.clock.advance(hours=23)
    young = world.request()
    world.run_queue()
    world.generator.fail_with = None
    done = world.request()
    world.run_queue()
    world.clock.advance(hours=2)
    assert world.service.cleanup.execute() == 1
    with pytest.raises(Exception, match="not found"):
        world.service.get_image("alice", old.id)
    assert world.service.get_image("alice", young.id).status == "FAILED"
    assert world.service.get_image("alice", done.id).status == "COMPLETED"
    assert f"images/alice/{old.id}.png" not in world.storage.objects
    assert len(world.storage.objects) == 2


def test_stalled_jobs_are_requeued_then_failed_with_one_refund(world: World) -> None:
    job = world.request()
    hand_out(world.service)
    world.queue.receive(1, 0)  # a worker took it ...
    for _ in range(3):
        world.service.worker.claim.worker_id = "dead-worker"
        world.service.worker.claim.start(job.id)  # ... started it, and died
        world.clock.advance(minutes=11)
        world.service.recover.execute()
    assert world.service.get_image("alice", job.id).status == "FAILED"
    assert world.balance() == 100 and world.ledger_sum() == 100


def test_recovered_job_is_finished_by_another_worker(world: World) -> None:
    job = world.request()
    hand_out(world.service)
    world.queue.receive(1, 0)
    world.service.worker.claim.worker_id = "dead-worker"
    world.service.worker.claim.start(job.id)
    world.clock.advance(minutes=11)
    assert world.service.recover.execute() == (1, 0)
    world.service.worker.claim.worker_id = "healthy-worker"
    assert world.run_queue() == ["COMPLETED"]
    assert world.balance() == 95


def test_relay_keeps_events_while_the_broker_is_down(world: World) -> None:
    from nexus_image.testing import CollectingPublisher

    broker = CollectingPublisher()
    world.service.relay.publisher = broker
    first = world.request(seed=1)
    second = world.request(seed=2)
    broker.available = False
    assert world.service.relay.execute() == 0
    assert len(world.store.unit_of_work().outbox.pending(10)) == 2
    broker.available = True
    assert world.service.relay.drain() == 2
    assert [e.job_id for e in broker.events] == [first.id, second.id]
    assert world.service.relay.drain() == 0
    assert all(isinstance(e, GenerationRequested) for e in broker.events)


def test_queue_drops_duplicate_events_by_id(world: World) -> None:
    world.request()
    assert world.service.dispatcher.execute(room=1) == 1
    pending = world.store.unit_of_work().outbox.pending(10)
    [record] = [r for r in pending if isinstance(r.event, GenerationDispatched)]
    world.queue.publish(record.event)
    world.queue.publish(record.event)
    assert world.queue.size() == 1
