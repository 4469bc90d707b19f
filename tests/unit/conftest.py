"""Unit tests run the use cases through the in-memory adapters only."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from nexus_image.adapters.memory import InMemoryQueue
from nexus_image.application import ImageService
from nexus_image.testing import (
    InMemoryStorage,
    ManualClock,
    MemoryStore,
    PatternGenerator,
)
from tests.support.driver import Fakes, ServiceDriver


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
    store, fakes = MemoryStore(), Fakes()
    live: list[object] = []
    service = fakes.service(
        store.unit_of_work, welcome_grant, live_events=LiveEvents(live), storage_retry_delays=(0.0, 0.0)
    )
    return World(store, fakes.clock, fakes.storage, fakes.queue, fakes.generator, service, live)


@pytest.fixture
def world() -> World:
    return make_world()
