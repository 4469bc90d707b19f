"""Live job events for the caller, as Server-Sent Events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

from litestar import Controller, get
from litestar.response import ServerSentEvent, ServerSentEventMessage

from nexus_image.application.ports import LiveEventFeed
from nexus_image.domain.events import (
    DomainEvent,
    GenerationCancelled,
    GenerationCompleted,
    GenerationFailed,
    GenerationProgress,
    GenerationRequested,
    GenerationStarted,
)
from nexus_image.entrypoints.http.docs import problems
from nexus_image.entrypoints.http.errors import RateLimited

HEARTBEAT_SECONDS = 15.0
MAX_STREAMS_PER_USER = 8


def message(event: DomainEvent) -> ServerSentEventMessage | None:
    """The client's view of an event: its job, the new status and what goes with it. Storage
    keys and internal fields stay inside."""
    body: dict[str, Any] = {
        "job_id": event.job_id,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
    match event:
        case GenerationRequested():
            name, body["status"], body["tokens_cost"] = "queued", "QUEUED", event.tokens_cost
        case GenerationStarted():
            name, body["status"], body["attempt"] = "processing", "PROCESSING", event.attempt
            body.update(step=0, total_steps=None)
        case GenerationProgress():
            name, body["status"] = "processing", "PROCESSING"
            body.update(step=event.step, total_steps=event.total_steps)
        case GenerationCompleted():
            name, body["status"] = "completed", "COMPLETED"
            body.update(image_url=f"/api/v1/images/{event.job_id}", duration_seconds=event.duration_seconds)
        case GenerationFailed():
            name, body["status"] = "failed", "FAILED"
            body.update(reason=event.reason, refunded=event.refunded)
        case GenerationCancelled():
            name, body["status"], body["refunded"] = "cancelled", "CANCELLED", event.refunded
        case _:
            return None
    return ServerSentEventMessage(data=json.dumps(body), event=name, id=event.event_id)


class InOrder:
    """Events reach the stream by two roads (progress directly from the worker, state changes
    through the outbox relay), so a `queued` or `processing` can arrive after a later step of
    the same job; such stale events are dropped, and a job is forgotten once it finished."""

    RANK = {"queued": 0, "processing": 1, "completed": 2, "failed": 2, "cancelled": 2}

    def __init__(self) -> None:
        self.reached: dict[str, int] = {}

    def admit(self, job_id: str, name: str) -> bool:
        rank = self.RANK[name]
        if self.reached.get(job_id, -1) > rank:
            return False
        if rank == 2:
            self.reached.pop(job_id, None)
        else:
            self.reached[job_id] = rank
        return True


async def stream(broadcaster: LiveEventFeed, user: str) -> AsyncIterator[ServerSentEventMessage]:
    subscription = broadcaster.subscribe(user)
    order = InOrder()
    try:
        yield ServerSentEventMessage(data=None, comment="connected", retry=3000)
        while True:
            batch = await subscription.next_batch(HEARTBEAT_SECONDS)
            if not batch:
                yield ServerSentEventMessage(data=None, comment="keep-alive")
            for event in batch:
                sse = message(event) if event.user_id == user else None
                if sse is not None and order.admit(event.job_id, str(sse.event)):
                    yield sse
    finally:
        subscription.close()


class EventsController(Controller):
    path = "/events"
    tags = ["events"]

    @get(
        "/",
        summary="Live events of the caller's jobs (Server-Sent Events)",
        media_type="text/event-stream",
        responses=problems(429),
        opt={"long_lived": True},
    )
    async def events(self, user: str, broadcaster: LiveEventFeed) -> ServerSentEvent:
        """One `event:` per change of one of the caller's jobs — `queued`, `processing` (with
        `step` and `total_steps`), `completed`, `failed`, `cancelled` — with a JSON `data` line.
        Only the caller's own jobs; a comment line every 15 s keeps proxies from closing it."""
        if broadcaster.subscriber_count(user) >= MAX_STREAMS_PER_USER:
            raise RateLimited(retry_after=int(HEARTBEAT_SECONDS))
        return ServerSentEvent(stream(broadcaster, user))
