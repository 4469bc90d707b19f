"""The outbox relay: events written with their transaction reach the broker afterwards."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_image.application.errors import QueueUnavailable
from nexus_image.application.ports import Clock, EventPublisher, UnitOfWorkFactory


@dataclass(slots=True)
class RelayOutbox:
    """Unsent events go out in order and are marked sent only once published (at least once;
    each carries its event id so consumers drop duplicates). A broker outage leaves them
    pending for the next run."""

    uow_factory: UnitOfWorkFactory
    publisher: EventPublisher
    clock: Clock
    batch_size: int = 100

    def execute(self) -> int:
        """Relay one batch; returns how many events were sent."""
        with self.uow_factory() as uow:
            records = uow.outbox.pending(self.batch_size)
            sent: list[int] = []
            try:
                for record in records:
                    self.publisher.publish(record.event)
                    sent.append(record.position)
            except QueueUnavailable:
                pass  # what was published is marked below; the rest waits for the broker
            if sent:
                uow.outbox.mark_sent(sent, self.clock.now())
                uow.commit()
            return len(sent)

    def drain(self) -> int:
        total = 0
        while (count := self.execute()) > 0:
            total += count
        return total
