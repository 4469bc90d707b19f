"""The audit trail's store."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

OUTCOME_LENGTH = 32
ACTION_LENGTH = 64
TARGET_LENGTH = 512
DETAIL_LENGTH = 2000
VIA_LENGTH = 512

ACTING_VIA: ContextVar[str] = ContextVar("nexus_image_acting_via", default="")
"""The credential the current action came through, when it is not the actor's own (a service
key: `key:<id> (<name>)`), set by the edge once it has authenticated the caller. Every audit row
cut in that context names it beside the actor, including rows written by use cases inside their
own transactions, which are not told who called them by any other way."""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    actor: str
    action: str
    target: str
    outcome: str
    at: datetime
    detail: str = ""
    via: str = ""  # the service key the actor acted through; empty for the actor's own token

    @classmethod
    def cut(
        cls,
        actor: str,
        action: str,
        target: str,
        outcome: str,
        at: datetime,
        detail: str,
        via: str | None = None,
    ) -> AuditRecord:
        """A row with its fields cut to what the log keeps; `via` defaults to ACTING_VIA's."""
        return cls(
            actor=actor,
            action=action[:ACTION_LENGTH],
            target=target[:TARGET_LENGTH],
            outcome=outcome[:OUTCOME_LENGTH],
            at=at,
            detail=detail[:DETAIL_LENGTH],
            via=(ACTING_VIA.get() if via is None else via)[:VIA_LENGTH],
        )


class AuditLog(Protocol):
    def record(self, entry: AuditRecord) -> None: ...
