"""The outbox relay: events written with their transaction reach the broker afterwards."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_image.application.errors import QueueUnavailable
from nexus_image.application.ports import BatchEventPublisher, Clock, EventPublisher, UnitOfWorkFactory


@dataclass(slots=True)
class RelayOutbox:
    """Unsent events go out in order and are marked sent only once published (at least once;
    each carries its event id so consumers drop duplicates). A broker outage leaves them
    pending for the next run. With `batch_publisher`, a batch goes out with one wait for the
    broker, and only the events taken, from the first on, are marked: order is kept."""

    uow_factory: UnitOfWorkFactory
    publisher: EventPublisher
    clock: Clock
    batch_size: int = 500
    batch_publisher: BatchEventPublisher | None = None

    def execute(self) -> int:
        """Relay one batch; returns how many events were sent."""
        with self.uow_factory() as uow:
            records = uow.outbox.pending(self.batch_size)
            sent: list[int] = []
            if self.batch_publisher is not None and records:
                taken = self.batch_publisher.publish_batch([record.event for record in records])
                sent = [record.position for record in records[:taken]]
            else:
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
