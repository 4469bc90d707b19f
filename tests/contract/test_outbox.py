"""The outbox port on every backend: order, pending, marking sent, events rebuilt exactly."""

from __future__ import annotations

from nexus_image.domain import DomainEvent, GenerationCompleted, GenerationRequested
from tests.support.builders import T0

from .conftest import Backend


def test_outbox_is_ordered_and_marked_sent(backend: Backend) -> None:
    events: list[DomainEvent] = [
        GenerationRequested(
            event_id=f"e{n}",
            job_id=f"j{n}",
            user_id="alice",
            occurred_at=T0,
            tokens_cost=5,
            parameters={"prompt": "fox", "seed": n, "guidance": 7.5},
        )
        for n in range(3)
    ]
    events.append(
        GenerationCompleted(
            event_id="e3",
            job_id="j0",
            user_id="alice",
            occurred_at=T0,
            image_key="k",
            thumbnail_key="t",
            duration_seconds=1.25,
        )
    )
    with backend.uow_factory() as uow:
        for event in events:
            uow.outbox.add(event)
        uow.commit()
    with backend.uow_factory() as uow:
        pending = uow.outbox.pending(10)
        assert [r.event for r in pending] == events
        assert uow.outbox.pending(2) == pending[:2]
        uow.outbox.mark_sent([pending[0].position, pending[2].position], T0)
        uow.commit()
    with backend.uow_factory() as uow:
        assert [r.event.event_id for r in uow.outbox.pending(10)] == ["e1", "e3"]


def test_events_marked_sent_are_no_longer_pending_in_the_same_unit(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        for n in range(3):
            uow.outbox.add(GenerationRequested(event_id=f"e{n}", job_id="j", user_id="u", occurred_at=T0))
        uow.commit()
    with backend.uow_factory() as uow:
        first = uow.outbox.pending(2)
        uow.outbox.mark_sent([r.position for r in first], T0)
        assert [r.event.event_id for r in uow.outbox.pending(10)] == ["e2"]
