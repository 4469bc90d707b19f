"""Driving the real use cases in tests: request, run the queue, read balances."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nexus_image.adapters.memory import InMemoryQueue
from nexus_image.application import GenerateImage, ImageService, ImageView
from nexus_image.entrypoints.composition import compose
from nexus_image.entrypoints.settings import Settings
from nexus_image.testing import FixedSeeds, InMemoryStorage, ManualClock, PatternGenerator, SequentialIds


def memory_service(welcome_grant: int = 100, **overrides: Any) -> ImageService:
    """The real use cases on the `memory` role, with the given providers replaced."""
    settings = Settings.model_construct(welcome_tokens=welcome_grant)
    return compose("memory", settings, **overrides).service


@dataclass
class Fakes:
    """The fakes a test world is built on, kept so the test can look at and steer them."""

    clock: ManualClock = field(default_factory=ManualClock)
    storage: InMemoryStorage = field(default_factory=InMemoryStorage)
    queue: InMemoryQueue = field(default_factory=InMemoryQueue)
    generator: PatternGenerator = field(default_factory=PatternGenerator)

    def service(self, uow_factory: Any, welcome_grant: int = 100, **overrides: Any) -> ImageService:
        """The real use cases on these fakes (sequential ids, seed 777) and `uow_factory`."""
        return memory_service(
            welcome_grant,
            uow_factory=uow_factory,
            storage=self.storage,
            clock=self.clock,
            ids=SequentialIds(),
            seeds=FixedSeeds(777),
            in_process_queue=self.queue,
            generator=self.generator,
            **overrides,
        )


class ServiceDriver:
    """Mixed into test fixtures that have `service` and an in-process `queue`."""

    service: ImageService
    queue: InMemoryQueue
    default_steps = 4

    def request(self, user: str = "alice", **kwargs: object) -> ImageView:
        params: dict[str, object] = {"prompt": "a red fox in the snow", "steps": self.default_steps, **kwargs}
        return self.service.request_generation(GenerateImage(user_id=user, **params))  # type: ignore[arg-type]

    def run_queue(self) -> list[str]:
        """Dispatch what is queued (the dispatcher's order), relay the outbox and process
        everything dispatched; returns the outcomes' statuses."""
        statuses: list[str] = []
        while True:
            self.service.dispatcher.execute(room=8)
            self.service.relay.drain()
            deliveries = self.queue.receive(max_items=8, timeout=0)
            if not deliveries:
                return statuses
            for delivery in deliveries:
                statuses.append(self.service.process(delivery.job_id).status)
                self.queue.acknowledge(delivery)

    def balance(self, user: str = "alice") -> int:
        return self.service.tokens.balance(user).balance

    def ledger_sum(self, user: str = "alice") -> int:
        return sum(e.amount for e in self.service.tokens.ledger(user))


def hand_out(service: ImageService, room: int = 100) -> int:
    """What a dispatcher with `room` free slots and the outbox relay do: queued jobs dispatched
    in the policy's order, then every pending event published; returns how many events."""
    service.dispatcher.execute(room=room)
    return service.relay.drain()
