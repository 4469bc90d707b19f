from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from nexus_image.domain.events import (
    EVENT_TYPES,
    SCHEMA_VERSION,
    DomainEvent,
    GenerationCompleted,
    GenerationRequested,
    event_from_dict,
)


@pytest.mark.parametrize("cls", list(EVENT_TYPES.values()))
def test_every_event_survives_json(cls: type[DomainEvent]) -> None:
    event = cls(
        event_id="e1", job_id="j1", user_id="u1", occurred_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    )
    body = json.loads(json.dumps(event.to_dict()))
    assert body["schema_version"] == SCHEMA_VERSION
    assert body["event_type"] == cls.event_type
    assert event_from_dict(body) == event


def test_payload_fields_round_trip() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    requested = GenerationRequested(
        event_id="e", job_id="j", user_id="u", occurred_at=at, parameters={"seed": 4}, tokens_cost=5
    )
    assert event_from_dict(requested.to_dict()) == requested
    done = GenerationCompleted(
        event_id="e2", job_id="j", user_id="u", occurred_at=at, image_key="k", thumbnail_key="t"
    )
    assert event_from_dict(done.to_dict()).image_key == "k"  # type: ignore[attr-defined]


def test_malformed_events_are_refused() -> None:
    with pytest.raises(KeyError):
        event_from_dict({"event_type": "generation.exploded"})
    with pytest.raises(ValueError, match="isoformat"):
        event_from_dict({"event_type": "generation.started", "occurred_at": "yesterday", "event_id": "e"})
