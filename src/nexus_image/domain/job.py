"""The image generation job (the generated image) and its state machine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from nexus_image.domain.account import EntryKind
from nexus_image.domain.errors import AccessDenied, IllegalTransition, ImageDataRemoved, UnsafeImage
from nexus_image.domain.events import (
    DomainEvent,
    GenerationCancelled,
    GenerationCompleted,
    GenerationDispatched,
    GenerationExpired,
    GenerationFailed,
    GenerationProgress,
    GenerationRequested,
    GenerationStarted,
)
from nexus_image.domain.parameters import GenerationParameters
from nexus_image.domain.queue import DEFAULT_TIER
from nexus_image.domain.resolution import price
from nexus_image.domain.safety import OutputSafety
from nexus_image.domain.transition import LedgerMovement, Transition, new_event_id

E = TypeVar("E", bound=DomainEvent)


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"  # its deadline passed before it started

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.EXPIRED})
REFUNDED = frozenset({JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.EXPIRED})


class RefundPolicy(StrEnum):
    """What a cancelled job gives back: its whole cost, or the share of the steps not run."""

    FULL = "full"
    PROPORTIONAL = "proportional"


class SafetyReview(StrEnum):
    """An operator's decision on an image the output check flagged: kept hidden (private for
    good) or released (its owner may publish it)."""

    HIDDEN = "hidden"
    RELEASED = "released"


TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset(
        {JobStatus.PROCESSING, JobStatus.CANCELLED, JobStatus.FAILED, JobStatus.EXPIRED}
    ),
    # PROCESSING -> QUEUED: a job whose worker died is handed back to the queue.
    JobStatus.PROCESSING: frozenset(
        {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.QUEUED}
    ),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
    JobStatus.EXPIRED: frozenset(),
}


def can_transition(current: JobStatus, target: JobStatus) -> bool:
    return target in TRANSITIONS[current]


@dataclass(slots=True)
class ImageJob:
    """One requested image, from QUEUED to a terminal state. `version` guards concurrent writes.

    Every transition checks the state machine and returns its `Transition`: the events and the
    ledger movement the caller persists with the job. Event ids are passed in (the use cases
    take them from their id generator); without one, a random id is made."""

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
    lease_expires_at: datetime | None = None
    safety: OutputSafety | None = None  # the output check's findings, once COMPLETED
    group_id: str | None = None  # shared by the images of one request for several
    tier: str = DEFAULT_TIER  # the owner's tier when it was requested (see domain.queue)
    deadline_at: datetime | None = None  # not started by then: EXPIRED, never started
    dispatched_at: datetime | None = None  # handed to the workers (while QUEUED), by the dispatcher
    dispatched_to: str | None = None  # the worker it was aimed at, if the dispatcher knew one
    stored_bytes: int = 0  # its image and thumbnail, once stored
    steps_done: int | None = None  # how far its worker said it got (at lease renewals)
    steps_total: int | None = None
    safety_review: str | None = None  # an operator's decision on a flagged image (SafetyReview)
    data_removed_at: datetime | None = None  # retention removed its files; the row stays (a tombstone)
    version: int = field(default=0)

    @classmethod
    def submit(
        cls,
        job_id: str,
        user_id: str,
        parameters: GenerationParameters,
        at: datetime,
        *,
        is_public: bool = False,
        companion_id: str | None = None,
        event_id: str | None = None,
        group_id: str | None = None,
        tokens_cost: int | None = None,
        tier: str = DEFAULT_TIER,
        deadline_at: datetime | None = None,
    ) -> tuple[ImageJob, Transition]:
        """A new QUEUED job at `tokens_cost` (by default its resolution's price): charged once,
        and put on the queue (the dispatcher dispatches it to the workers in its turn)."""
        job = cls(
            id=job_id,
            user_id=user_id,
            parameters=parameters,
            tokens_cost=price(parameters.resolution) if tokens_cost is None else tokens_cost,
            created_at=at,
            is_public=is_public,
            companion_id=companion_id,
            group_id=group_id,
            tier=tier,
            deadline_at=deadline_at,
        )
        charge = LedgerMovement(EntryKind.DEBIT, job.tokens_cost, "image generation", job.id)
        return job, Transition((job._requested(at, event_id),), charge)

    def _move(self, target: JobStatus) -> None:
        if not can_transition(self.status, target):
            raise IllegalTransition(self.id, self.status.value, target.value)
        self.status = target
        self.lease_expires_at = None  # only a PROCESSING job is held; start sets a new lease
        self.dispatched_at = self.dispatched_to = None  # only a QUEUED job waits to be started

    def _event(self, kind: type[E], at: datetime, event_id: str | None, **fields: Any) -> E:
        """An event of this job: the envelope (id, job, owner, time) is the same for all."""
        return kind(
            event_id=event_id or new_event_id(),
            job_id=self.id,
            user_id=self.user_id,
            occurred_at=at,
            **fields,
        )

    def _requested(self, at: datetime, event_id: str | None) -> GenerationRequested:
        return self._event(
            GenerationRequested,
            at,
            event_id,
            parameters=dict(self.parameters.to_dict()),
            tokens_cost=self.tokens_cost,
        )

    def _refund(self, why: str) -> LedgerMovement:
        return LedgerMovement(EntryKind.REFUND, self.tokens_cost, f"refund: generation {why}", self.id)

    @property
    def dispatched(self) -> bool:
        """QUEUED and handed to the workers: a worker may start it."""
        return self.status is JobStatus.QUEUED and self.dispatched_at is not None

    def dispatch(
        self,
        at: datetime,
        worker_id: str | None = None,
        partition: int | None = None,
        *,
        event_id: str | None = None,
    ) -> Transition:
        """Handed to the workers (aimed at `worker_id`'s `partition` where known): the message a
        worker takes it from. A job dispatched again (its message lost) gets a new message."""
        if self.status is not JobStatus.QUEUED:
            raise IllegalTransition(self.id, self.status.value, "DISPATCHED")
        self.dispatched_at = at
        self.dispatched_to = worker_id
        dispatched = self._event(
            GenerationDispatched,
            at,
            event_id,
            worker_id=worker_id,
            partition=partition,
            model=self.parameters.model,
        )
        return Transition((dispatched,))

    def undispatch(self) -> None:
        """Back to waiting for its turn (a paused queue, or a queue that died with its process):
        a message already sent for it is skipped by the worker that reads it."""
        if self.status is JobStatus.QUEUED:
            self.dispatched_at = self.dispatched_to = None

    def overdue(self, now: datetime) -> bool:
        """Still QUEUED at or after its deadline."""
        return self.status is JobStatus.QUEUED and self.deadline_at is not None and self.deadline_at <= now

    def expire(self, at: datetime, *, event_id: str | None = None) -> Transition:
        """EXPIRED: its deadline passed before it started; refunded in full, never started."""
        self._move(JobStatus.EXPIRED)
        self.completed_at = at
        expired = self._event(GenerationExpired, at, event_id, refunded=self.tokens_cost)
        return Transition((expired,), self._refund("expired"))

    def start(
        self,
        at: datetime,
        worker_id: str | None = None,
        *,
        lease_until: datetime | None = None,
        event_id: str | None = None,
    ) -> Transition:
        """PROCESSING under `worker_id`, held until `lease_until` unless the worker renews."""
        self._move(JobStatus.PROCESSING)
        self.started_at = at
        self.attempts += 1
        self.worker_id = worker_id
        self.lease_expires_at = lease_until
        return Transition((self._event(GenerationStarted, at, event_id, attempt=self.attempts),))

    def renew_lease(
        self, worker_id: str | None, until: datetime, progress: tuple[int, int] | None = None
    ) -> bool:
        """Extend the lease of a job still held by `worker_id`, noting how far it got (steps
        done, of how many); False when it is not held (anymore)."""
        if not self.is_held_by(worker_id):
            return False
        self.lease_expires_at = max(until, self.lease_expires_at or until)
        if progress is not None and progress[1] > 0:
            self.steps_total = progress[1]
            self.steps_done = max(0, min(progress[0], progress[1]))
        return True

    def lease_expired(self, now: datetime) -> bool:
        """Running, but its worker stopped renewing (a job without a lease counts as expired)."""
        return self.status is JobStatus.PROCESSING and (
            self.lease_expires_at is None or self.lease_expires_at <= now
        )

    def lose_worker(self, at: datetime, max_attempts: int, *, event_id: str | None = None) -> Transition:
        """The worker of a running job is gone: the job goes back to the queue, or, after
        `max_attempts` starts, FAILS with a refund (a job that keeps killing workers)."""
        if self.attempts >= max_attempts:
            return self.fail(at, f"worker stopped answering ({self.attempts} attempts)", event_id=event_id)
        return self.requeue(at, event_id=event_id)

    def progress(
        self, step: int, total: int, at: datetime, *, event_id: str | None = None, preview: str = ""
    ) -> GenerationProgress:
        """A step of a running job (advisory: it changes nothing and goes out directly), with
        a preview of the image so far when there is one."""
        return self._event(GenerationProgress, at, event_id, step=step, total_steps=total, preview=preview)

    def complete(
        self,
        at: datetime,
        image_key: str,
        thumbnail_key: str,
        *,
        duration_seconds: float = 0.0,
        safety: OutputSafety | None = None,
        event_id: str | None = None,
        stored_bytes: int = 0,
    ) -> Transition:
        """COMPLETED with its files (`stored_bytes` together); an image the output check
        flagged stays private."""
        self._move(JobStatus.COMPLETED)
        self.completed_at = at
        self.image_key = image_key
        self.thumbnail_key = thumbnail_key
        self.stored_bytes = max(0, stored_bytes)
        self.safety = safety
        if self.is_flagged:
            self.is_public = False
        completed = self._event(
            GenerationCompleted,
            at,
            event_id,
            image_key=image_key,
            thumbnail_key=thumbnail_key,
            duration_seconds=round(duration_seconds, 3),
        )
        return Transition((completed,))

    def fail(self, at: datetime, reason: str, *, event_id: str | None = None) -> Transition:
        """FAILED, refunding the exact cost."""
        self._move(JobStatus.FAILED)
        self.completed_at = at
        self.failure_reason = reason[:500]
        failed = self._event(
            GenerationFailed,
            at,
            event_id,
            reason=reason,
            refunded=self.tokens_cost,
        )
        return Transition((failed,), self._refund("failed"))

    def cancel_refund(self, policy: RefundPolicy) -> int:
        """What cancelling it now gives back: the whole cost (policy FULL, or a job no worker
        has said it started drawing); under PROPORTIONAL, the share of the steps not run,
        rounded up (in the owner's favour)."""
        done, total = self.steps_done, self.steps_total
        if policy is RefundPolicy.FULL or self.status is not JobStatus.PROCESSING or not done or not total:
            return self.tokens_cost
        return -(-self.tokens_cost * (total - min(done, total)) // total)

    def cancel(
        self, at: datetime, *, event_id: str | None = None, policy: RefundPolicy | None = None
    ) -> Transition:
        """CANCELLED, refunding what `policy` says (the exact cost by default); a running job
        stops at its next step."""
        refund = self.cancel_refund(policy or RefundPolicy.FULL)
        steps = (self.steps_done, self.steps_total) if refund != self.tokens_cost else None
        self._move(JobStatus.CANCELLED)
        self.completed_at = at
        cancelled = self._event(GenerationCancelled, at, event_id, refunded=refund)
        if refund == self.tokens_cost:
            return Transition((cancelled,), self._refund("cancelled"))
        if refund == 0:
            return Transition((cancelled,))
        done, total = steps or (0, 0)
        why = f"refund: generation cancelled ({(total or 0) - (done or 0)} of {total} steps not run)"
        return Transition((cancelled,), LedgerMovement(EntryKind.REFUND, refund, why, self.id))

    def requeue(self, at: datetime, *, event_id: str | None = None) -> Transition:
        """Hand a job whose worker stopped answering back to the queue."""
        self._move(JobStatus.QUEUED)
        self.worker_id = None
        return Transition((self._requested(at, event_id),))

    def is_held_by(self, worker_id: str | None) -> bool:
        """Still running under this worker: nobody cancelled, recovered or re-took it."""
        return self.status is JobStatus.PROCESSING and self.worker_id == worker_id

    @property
    def refund_due(self) -> bool:
        """Failed, cancelled and expired jobs give their tokens back."""
        return self.status in REFUNDED

    def remove_data(self, at: datetime) -> None:
        """Retention: its files are to go, its row stays (the ledger and the audit log name it).
        Marked first; the keys stay until the objects are deleted (`forget_files`), so a run
        that stops in between finds what it still has to delete. Only a finished job's data
        goes; marking it again changes nothing."""
        if not self.status.is_terminal:
            raise IllegalTransition(self.id, self.status.value, "DATA_REMOVED")
        if self.data_removed_at is None:
            self.data_removed_at = at
            self.stored_bytes = 0

    def forget_files(self) -> None:
        """Its objects were deleted (after `remove_data`): nothing of it is stored anymore."""
        if self.data_removed_at is not None:
            self.image_key = self.thumbnail_key = None

    @property
    def data_removed(self) -> bool:
        return self.data_removed_at is not None

    def ensure_data_kept(self) -> None:
        """ImageDataRemoved once retention removed its files."""
        if self.data_removed_at is not None:
            raise ImageDataRemoved(self.id, self.data_removed_at.isoformat())

    def ensure_owner(self, user_id: str) -> None:
        if self.user_id != user_id:
            raise AccessDenied(f"image {self.id} does not belong to the caller")

    def is_visible_to(self, user_id: str | None) -> bool:
        """Its owner sees it; anyone else once it is public and COMPLETED."""
        return self.user_id == user_id or (self.is_public and self.status is JobStatus.COMPLETED)

    def ensure_visible_to(self, user_id: str | None) -> None:
        if not self.is_visible_to(user_id):
            raise AccessDenied(f"image {self.id} is not visible to the caller")

    @property
    def is_flagged(self) -> bool:
        return self.safety is not None and self.safety.flagged

    def set_visibility(self, public: bool) -> None:
        """A public job shows in the gallery once it is COMPLETED; a flagged image never does,
        unless an operator released it."""
        if public and self.is_flagged and self.safety_review != SafetyReview.RELEASED and self.safety:
            raise UnsafeImage(self.id, self.safety.reason)
        self.is_public = public

    def review(self, decision: SafetyReview) -> None:
        """An operator's decision on its flag: hidden makes it private for good."""
        self.safety_review = decision.value
        if decision is SafetyReview.HIDDEN:
            self.is_public = False
