"""The audit trail's store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

OUTCOME_LENGTH = 32
ACTION_LENGTH = 64
TARGET_LENGTH = 512
DETAIL_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class AuditRecord:
    actor: str
    action: str
    target: str
    outcome: str
    at: datetime
    detail: str = ""

    @classmethod
    def cut(
        cls, actor: str, action: str, target: str, outcome: str, at: datetime, detail: str
    ) -> AuditRecord:
        """A row with its fields cut to what the log keeps."""
        return cls(
            actor=actor,
            action=action[:ACTION_LENGTH],
            target=target[:TARGET_LENGTH],
            outcome=outcome[:OUTCOME_LENGTH],
            at=at,
            detail=detail[:DETAIL_LENGTH],
        )


class AuditLog(Protocol):
    def record(self, entry: AuditRecord) -> None: ...
