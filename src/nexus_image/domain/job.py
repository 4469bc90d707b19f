"""The image generation job (the generated image) and its state machine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from nexus_image.domain.errors import AccessDenied, IllegalTransition
from nexus_image.domain.parameters import GenerationParameters


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.PROCESSING, JobStatus.CANCELLED, JobStatus.FAILED}),
    # PROCESSING -> QUEUED: a job whose worker died is handed back to the queue.
    JobStatus.PROCESSING: frozenset(
        {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.QUEUED}
    ),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}


def can_transition(current: JobStatus, target: JobStatus) -> bool:
    return target in TRANSITIONS[current]


@dataclass(slots=True)
class ImageJob:
    """One requested image, from QUEUED to a terminal state. `version` guards concurrent writes."""

    id: str
    user_id: str
    parameters: GenerationParameters
    tokens_cost: int
    created_at: datetime
    status: JobStatus = JobStatus.QUEUED
    is_public: bool = False
    companion_id: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    failure_reason: str | None = None
    image_key: str | None = None
    thumbnail_key: str | None = None
    attempts: int = 0
    worker_id: str | None = None
    version: int = field(default=0)

    def _move(self, target: JobStatus) -> None:
        if not can_transition(self.status, target):
            raise IllegalTransition(self.id, self.status.value, target.value)
        self.status = target

    def start(self, at: datetime, worker_id: str | None = None) -> None:
        self._move(JobStatus.PROCESSING)
        self.started_at = at
        self.attempts += 1
        self.worker_id = worker_id

    def complete(self, at: datetime, image_key: str, thumbnail_key: str) -> None:
        self._move(JobStatus.COMPLETED)
        self.completed_at = at
        self.image_key = image_key
        self.thumbnail_key = thumbnail_key

    def fail(self, at: datetime, reason: str) -> None:
        self._move(JobStatus.FAILED)
        self.completed_at = at
        self.failure_reason = reason[:500]

    def cancel(self, at: datetime) -> None:
        self._move(JobStatus.CANCELLED)
        self.completed_at = at

    def requeue(self) -> None:
        """Hand a job whose worker stopped answering back to the queue."""
        self._move(JobStatus.QUEUED)
        self.worker_id = None

    @property
    def refund_due(self) -> bool:
        """Failed and cancelled jobs give their tokens back."""
        return self.status in (JobStatus.FAILED, JobStatus.CANCELLED)

    def ensure_owner(self, user_id: str) -> None:
        if self.user_id != user_id:
            raise AccessDenied(f"image {self.id} does not belong to the caller")

    def ensure_visible_to(self, user_id: str | None) -> None:
        if self.user_id != user_id and not (self.is_public and self.status is JobStatus.COMPLETED):
            raise AccessDenied(f"image {self.id} is not visible to the caller")

    def set_visibility(self, public: bool) -> None:
        """A public job shows in the gallery once it is COMPLETED."""
        self.is_public = public
