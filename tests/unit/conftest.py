"""Unit tests run the use cases through the in-memory adapters only."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from nexus_image.adapters.imaging import PillowEncoder
from nexus_image.adapters.memory import (
    FixedSeeds,
    InMemoryQueue,
    InMemoryStorage,
    ManualClock,
    MemoryStore,
    PatternGenerator,
    SequentialIds,
)
from nexus_image.adapters.moderation import RuleBasedModerator
from nexus_image.application import Dependencies, ImageService
from tests.support.driver import ServiceDriver


@dataclass
class World(ServiceDriver):
    store: MemoryStore
    clock: ManualClock
    storage: InMemoryStorage
    queue: InMemoryQueue
    generator: PatternGenerator
    service: ImageService
    live: list[object]


class LiveEvents:
    def __init__(self, sink: list[object]) -> None:
        self.sink = sink

    def publish(self, event: object) -> None:
        self.sink.append(event)


def make_world(welcome_grant: int = 100) -> World:
    store = MemoryStore()
    clock = ManualClock()
    storage = InMemoryStorage()
    queue = InMemoryQueue()
    generator = PatternGenerator()
    live: list[object] = []
    deps = Dependencies(
        uow_factory=store.unit_of_work,  # type: ignore[arg-type]
        storage=storage,
        moderator=RuleBasedModerator(),
        clock=clock,
        ids=SequentialIds(),
        seeds=FixedSeeds(777),
        publisher=queue,
        generator=generator,
        encoder=PillowEncoder(),
        live_events=LiveEvents(live),  # type: ignore[arg-type]
        welcome_grant=welcome_grant,
    )
    service = ImageService(deps)
    service.worker.storage_retry_delays = (0.0, 0.0)
    return World(store, clock, storage, queue, generator, service, live)


@pytest.fixture
def world() -> World:
    return make_world()
