"""The wire format: JSON bodies that carry their schema version and event id, keyed by job id.

The event id also travels in a header so a consumer can drop duplicates without parsing the
body; the event type travels in a header so routers can filter cheaply."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nexus_image.domain.events import SCHEMA_VERSION, DomainEvent, GenerationDispatched, GenerationRequested

HEADER_EVENT_ID = "event_id"
HEADER_EVENT_TYPE = "event_type"
HEADER_SCHEMA = "schema_version"


@dataclass(frozen=True, slots=True)
class EncodedEvent:
    key: bytes
    value: bytes
    headers: list[tuple[str, str | bytes | None]]
    partition: int | None = None  # where the dispatcher aimed a dispatch; None: by key


def encode(event: DomainEvent) -> EncodedEvent:
    body = event.to_dict()
    return EncodedEvent(
        key=event.job_id.encode(),
        value=json.dumps(body, separators=(",", ":"), sort_keys=True).encode(),
        headers=[
            (HEADER_EVENT_ID, event.event_id.encode()),
            (HEADER_EVENT_TYPE, event.event_type.encode()),
            (HEADER_SCHEMA, str(SCHEMA_VERSION).encode()),
        ],
        partition=event.partition if isinstance(event, GenerationDispatched) else None,
    )


class PoisonMessage(ValueError):
    """A message on the requests topic that names no job we could run."""


JOB_MESSAGES = frozenset({GenerationDispatched.event_type, GenerationRequested.event_type})


def requested_job_id(value: bytes | None) -> str:
    """The job id of a dispatch (or of a request, as the requests topic carried them before the
    dispatcher: the worker skips those jobs unless dispatched since); PoisonMessage for anything
    else."""
    if value is None:
        raise PoisonMessage("empty message")
    try:
        body: Any = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PoisonMessage(f"not JSON: {error}") from None
    if not isinstance(body, dict):
        raise PoisonMessage("not a JSON object")
    if body.get("event_type") not in JOB_MESSAGES:
        raise PoisonMessage(f"unexpected event type {body.get('event_type')!r}")
    version = body.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise PoisonMessage(f"unsupported schema version {version!r}")
    job_id = body.get("job_id")
    if not isinstance(job_id, str) or not job_id:
        raise PoisonMessage("no job id")
    return job_id
