"""Live job events for whoever watches a user's jobs (the HTTP event stream)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from nexus_image.domain.events import DomainEvent


@runtime_checkable
class LiveSubscription(Protocol):
    """One watcher's events, in order."""

    async def next_batch(self, timeout: float) -> list[DomainEvent]:
        """What arrived since the last call, waiting up to `timeout` seconds for something."""

    def close(self) -> None:
        """Stop receiving; idempotent."""


@runtime_checkable
class LiveEventFeed(Protocol):
    """Subscriptions to one user's live events; only that user's events reach them."""

    def subscribe(self, user_id: str, stream: bool = True) -> LiveSubscription:
        """`stream=False`: a request waiting for its jobs, not an event stream the user holds."""

    def subscriber_count(self, user_id: str) -> int:
        """The user's event streams (waits are not counted)."""
