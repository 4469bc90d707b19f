"""Driving the real use cases in tests: request, run the queue, read balances."""

from __future__ import annotations

from nexus_image.adapters.memory import InMemoryQueue
from nexus_image.application import GenerateImage, ImageService, ImageView


class ServiceDriver:
    """Mixed into test fixtures that have `service` and an in-process `queue`."""

    service: ImageService
    queue: InMemoryQueue
    default_steps = 4

    def request(self, user: str = "alice", **kwargs: object) -> ImageView:
        params: dict[str, object] = {"prompt": "a red fox in the snow", "steps": self.default_steps, **kwargs}
        return self.service.request_generation(GenerateImage(user_id=user, **params))  # type: ignore[arg-type]

    def run_queue(self) -> list[str]:
        """Relay the outbox and process everything queued; returns the outcomes' statuses."""
        self.service.relay.drain()
        statuses = []
        while deliveries := self.queue.receive(max_items=8, timeout=0):
            for delivery in deliveries:
                statuses.append(self.service.process(delivery.job_id).status)
                self.queue.acknowledge(delivery)
        return statuses

    def balance(self, user: str = "alice") -> int:
        return self.service.tokens.balance(user).balance

    def ledger_sum(self, user: str = "alice") -> int:
        return sum(e.amount for e in self.service.tokens.ledger(user))
