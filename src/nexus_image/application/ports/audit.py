"""The audit trail's store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AuditRecord:
    actor: str
    action: str
    target: str
    outcome: str
    at: datetime
    detail: str = ""


class AuditLog(Protocol):
    def record(self, entry: AuditRecord) -> None: ...
