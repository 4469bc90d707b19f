"""The audit trail: who tried to change what, when, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_image.application.ports import AuditRecord, Clock, UnitOfWorkFactory


@dataclass(slots=True)
class RecordAudit:
    """Every state-changing action leaves one row, failures included: a refused attempt (not
    the caller's image, not enough tokens) matters to an auditor as much as a success. The row
    is written in its own transaction, so it is kept even when the action was rolled back."""

    uow_factory: UnitOfWorkFactory
    clock: Clock

    def execute(self, actor: str, action: str, target: str, outcome: str, detail: str = "") -> None:
        entry = AuditRecord.cut(actor, action, target, outcome, self.clock.now(), detail)
        with self.uow_factory() as uow:
            uow.audit.record(entry)
            uow.commit()
