"""Events written with their transaction, relayed to the broker afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from nexus_image.domain.events import DomainEvent


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    position: int
    event: DomainEvent


class Outbox(Protocol):
    def add(self, event: DomainEvent) -> None: ...
    def pending(self, limit: int) -> list[OutboxRecord]:
        """Unsent events, oldest first (claimed so that concurrent relays skip them)."""

    def mark_sent(self, positions: list[int], at: datetime) -> None: ...
    def unrouted(self, limit: int) -> list[OutboxRecord]:
        """Events not yet looked at for webhooks, oldest first (claimed like `pending`)."""

    def mark_routed(self, positions: list[int], at: datetime) -> None: ...
