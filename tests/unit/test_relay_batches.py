"""The relay's batches: one wait for the broker per batch, and only the events taken from the
first on are marked sent, so a partial failure never reorders or skips anything."""

from __future__ import annotations

from collections.abc import Sequence

from nexus_image.adapters.memory import TeePublisher
from nexus_image.application.errors import QueueUnavailable
from nexus_image.application.relay import RelayOutbox
from nexus_image.domain.events import DomainEvent

from .conftest import World


class PartialBroker:
    """Takes at most `room` events per batch; records what it took, in order."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.taken: list[str] = []
        self.batches: list[int] = []

    def publish(self, event: DomainEvent) -> None:
        raise AssertionError("the relay must use the batch")

    def publish_batch(self, events: Sequence[DomainEvent]) -> int:
        self.batches.append(len(events))
        taken = list(events)[: self.room]
        self.taken += [e.job_id for e in taken]
        return len(taken)


def test_only_the_taken_prefix_is_marked_and_the_rest_goes_next_time(world: World) -> None:
    jobs = [world.request(seed=n).id for n in range(5)]
    broker = PartialBroker(room=2)
    relay = RelayOutbox(world.store.unit_of_work, broker, world.clock, batch_size=500, batch_publisher=broker)
    assert relay.execute() == 2
    assert relay.execute() == 2
    assert relay.execute() == 1
    assert relay.execute() == 0
    assert broker.taken == jobs  # each once, in the order they were requested
    assert broker.batches == [5, 3, 1]


def test_a_broker_that_takes_nothing_leaves_everything_pending(world: World) -> None:
    world.request()
    broker = PartialBroker(room=0)
    relay = RelayOutbox(world.store.unit_of_work, broker, world.clock, batch_publisher=broker)
    assert relay.execute() == 0
    broker.room = 10
    assert relay.execute() == 1


class OneByOne:
    """A primary without batches, failing after `room` events."""

    def __init__(self, room: int) -> None:
        self.room, self.taken = room, 0

    def publish(self, event: DomainEvent) -> None:
        if self.taken >= self.room:
            raise QueueUnavailable("down")
        self.taken += 1


def test_the_tee_batches_through_its_primary_and_tells_watchers_only_what_was_taken(world: World) -> None:
    events = [world.request(seed=n) for n in range(4)]
    with world.store.unit_of_work() as uow:
        pending = [r.event for r in uow.outbox.pending(10)]
    assert len(pending) == len(events)
    watcher = Recorder()
    assert TeePublisher(PartialBroker(room=3), watcher).publish_batch(pending) == 3
    assert watcher.seen == [e.job_id for e in pending[:3]]
    assert TeePublisher(OneByOne(room=1), watcher).publish_batch(pending) == 1
    assert watcher.seen == [e.job_id for e in pending[:3]] + [pending[0].job_id]


class Recorder:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def publish(self, event: DomainEvent) -> None:
        self.seen.append(event.job_id)
