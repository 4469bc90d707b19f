"""What a change of a job implies besides its new state: events, and tokens moved."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from nexus_image.domain.account import EntryKind
from nexus_image.domain.events import DomainEvent


def new_event_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class LedgerMovement:
    """Tokens a transition moves: the charge of a request, or the refund of a failed or
    cancelled job. Applied to the owner's account in the same transaction as the job."""

    kind: EntryKind  # DEBIT or REFUND
    amount: int
    reason: str
    job_id: str


@dataclass(frozen=True, slots=True)
class Transition:
    """What one change of a job implies besides its new state: the events to publish (through
    the outbox) and the tokens to move."""

    events: tuple[DomainEvent, ...] = ()
    movement: LedgerMovement | None = None
