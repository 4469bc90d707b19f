"""Publishing events, and the worker's side of the job queue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from nexus_image.domain.events import DomainEvent


class EventPublisher(Protocol):
    def publish(self, event: DomainEvent) -> None:
        """Raises QueueUnavailable when the destination cannot take it now."""


@runtime_checkable
class BatchEventPublisher(Protocol):
    """A publisher that sends many events with one wait for the broker (the relay's batches)."""

    def publish_batch(self, events: Sequence[DomainEvent]) -> int:
        """Publishes `events` in order; returns how many, from the first, were taken for sure
        (an outage takes fewer, maybe none; the rest are to be sent again, never skipped)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    job_id: str
    handle: object = None
    problem: str | None = None
    """Why this message names no runnable job (unparseable, unexpected type): the worker logs
    it and acknowledges it, so a poison message never blocks the messages behind it."""


class JobQueue(Protocol):
    """Worker side of the queue: jobs to run, acknowledged once their outcome is durable."""

    def receive(self, max_items: int, timeout: float) -> list[Delivery]: ...
    def acknowledge(self, delivery: Delivery) -> None: ...
