"""Domain events of a job's life. Each carries its own id so consumers can drop duplicates."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    event_type: ClassVar[str] = "event"
    event_id: str
    job_id: str
    user_id: str
    occurred_at: datetime

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["occurred_at"] = self.occurred_at.isoformat()
        body["event_type"] = self.event_type
        body["schema_version"] = SCHEMA_VERSION
        return body


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationRequested(DomainEvent):
    event_type: ClassVar[str] = "generation.requested"
    parameters: dict[str, Any] = field(default_factory=dict)
    tokens_cost: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationStarted(DomainEvent):
    event_type: ClassVar[str] = "generation.started"
    attempt: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationProgress(DomainEvent):
    event_type: ClassVar[str] = "generation.progress"
    step: int = 0
    total_steps: int = 0
    preview: str = ""  # a small WebP of the image so far, base64; "" when this step has none


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationCompleted(DomainEvent):
    event_type: ClassVar[str] = "generation.completed"
    image_key: str = ""
    thumbnail_key: str = ""
    duration_seconds: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationFailed(DomainEvent):
    event_type: ClassVar[str] = "generation.failed"
    reason: str = ""
    refunded: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationCancelled(DomainEvent):
    event_type: ClassVar[str] = "generation.cancelled"
    refunded: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationDispatched(DomainEvent):
    """The dispatcher handed the job to the workers: the message a worker takes it from. Aimed
    at `worker_id`'s `partition` of the transport where the dispatcher knows them; `model` is
    the job's (only workers serving it read its messages)."""

    event_type: ClassVar[str] = "generation.dispatched"
    worker_id: str | None = None
    partition: int | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationExpired(DomainEvent):
    """Its deadline passed before it started: never started, refunded in full."""

    event_type: ClassVar[str] = "generation.expired"
    refunded: int = 0


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.event_type: cls
    for cls in (
        GenerationRequested,
        GenerationStarted,
        GenerationProgress,
        GenerationCompleted,
        GenerationFailed,
        GenerationCancelled,
        GenerationDispatched,
        GenerationExpired,
    )
}


def event_from_dict(body: dict[str, Any]) -> DomainEvent:
    """Rebuild an event from `to_dict` output; raises KeyError/ValueError on malformed input."""
    cls = EVENT_TYPES[body["event_type"]]
    names = {f.name for f in fields(cls)}
    values = {k: v for k, v in body.items() if k in names}
    values["occurred_at"] = datetime.fromisoformat(body["occurred_at"])
    return cls(**values)
