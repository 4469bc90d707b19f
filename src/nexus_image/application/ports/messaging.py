"""Publishing events, and the worker's side of the job queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from nexus_image.domain.events import DomainEvent


class EventPublisher(Protocol):
    def publish(self, event: DomainEvent) -> None:
        """Raises QueueUnavailable when the destination cannot take it now."""


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
