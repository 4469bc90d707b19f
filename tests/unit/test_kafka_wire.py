"""The Kafka wire format and routing, without a broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from nexus_image.adapters.kafka import Topics, client_config
from nexus_image.adapters.kafka.config import for_admin, for_consumer, for_producer
from nexus_image.adapters.kafka.messages import PoisonMessage, encode, requested_job_id
from nexus_image.domain.events import (
    GenerationCancelled,
    GenerationDispatched,
    GenerationExpired,
    GenerationFailed,
    GenerationProgress,
    GenerationRequested,
    GenerationStarted,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_request_round_trips_with_key_and_headers() -> None:
    event = GenerationRequested(event_id="e1", job_id="j1", user_id="u", occurred_at=NOW, tokens_cost=5)
    message = encode(event)
    assert message.key == b"j1"
    assert dict(message.headers) == {
        "event_id": b"e1",
        "event_type": b"generation.requested",
        "schema_version": b"1",
    }
    assert json.loads(message.value)["tokens_cost"] == 5
    assert requested_job_id(message.value) == "j1"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty message"),
        (b"\xff\xfe", "not JSON"),
        (b'"text"', "not a JSON object"),
        (b'{"event_type": "generation.started", "job_id": "j"}', "unexpected event type"),
        (b'{"event_type": "generation.requested", "schema_version": 99, "job_id": "j"}', "schema version"),
        (b'{"event_type": "generation.requested", "schema_version": 1, "job_id": ""}', "no job id"),
    ],
)
def test_anything_but_a_request_is_poison(value: bytes | None, reason: str) -> None:
    with pytest.raises(PoisonMessage, match=reason):
        requested_job_id(value)


def test_events_are_routed_by_what_readers_want() -> None:
    topics = Topics("prod.")
    common: dict[str, Any] = {"event_id": "e", "job_id": "j", "user_id": "u", "occurred_at": NOW}
    assert topics.for_event(GenerationDispatched(**common, partition=2)) == "prod.image.generation.requests"
    assert topics.for_event(GenerationRequested(**common)) == "prod.image.generation.progress"
    assert topics.for_event(GenerationExpired(**common)) == "prod.image.generation.completed"
    assert topics.for_event(GenerationFailed(**common)) == "prod.image.generation.completed"
    assert topics.for_event(GenerationCancelled(**common)) == "prod.image.generation.completed"
    assert topics.for_event(GenerationStarted(**common)) == "prod.image.generation.progress"
    assert topics.for_event(GenerationProgress(**common)) == "prod.image.generation.progress"
    assert len(set(topics.all())) == 3


def test_one_client_configuration_serves_every_client() -> None:
    config = client_config("k:9092", json.dumps({"group.id": "g", "acks": "all", "security.protocol": "SSL"}))
    assert for_producer(config) == {"bootstrap.servers": "k:9092", "acks": "all", "security.protocol": "SSL"}
    assert for_consumer(config) == {
        "bootstrap.servers": "k:9092",
        "group.id": "g",
        "security.protocol": "SSL",
    }
    assert for_admin(config) == {"bootstrap.servers": "k:9092", "security.protocol": "SSL"}
    with pytest.raises(ValueError, match="JSON object"):
        client_config("k:9092", "[1]")
