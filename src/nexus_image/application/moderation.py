"""Moderating a prompt: the verdict, and an audit row for every refusal saying which category
and which layer decided (shared by the generation request and the pre-check)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nexus_image.application.errors import DatabaseUnavailable, PromptRejected
from nexus_image.application.ports import (
    AuditRecord,
    Clock,
    Metrics,
    ModerationVerdict,
    PromptModerator,
    UnitOfWorkFactory,
)

log = logging.getLogger(__name__)
REFUSED_ACTION = "moderation.refused"
MATCH_LENGTH = 200


@dataclass(slots=True)
class ModeratePrompts:
    moderator: PromptModerator
    uow_factory: UnitOfWorkFactory
    clock: Clock
    metrics: Metrics

    def check(self, user_id: str, text: str, purpose: str = "generate") -> ModerationVerdict:
        """The verdict; a refusal is audited (kept even if the caller's action fails later)."""
        verdict = self.moderator.check(text)
        if not verdict.allowed:
            self.metrics.prompt_refused(verdict.category or "unspecified", verdict.layer or "unspecified")
            self._audit(user_id, verdict, purpose)
        return verdict

    def require_allowed(self, user_id: str, text: str, purpose: str = "generate") -> None:
        verdict = self.check(user_id, text, purpose)
        if not verdict.allowed:
            raise PromptRejected(verdict.category or "unspecified", verdict.layer or "unspecified")

    def _audit(self, user_id: str, verdict: ModerationVerdict, purpose: str) -> None:
        matched = (verdict.matched or "")[:MATCH_LENGTH]
        detail = f"category={verdict.category} layer={verdict.layer} matched={matched}"
        entry = AuditRecord.cut(
            user_id, REFUSED_ACTION, purpose, f"refused:{verdict.category}", self.clock.now(), detail
        )
        try:
            with self.uow_factory() as uow:
                uow.audit.record(entry)
                uow.commit()
        except DatabaseUnavailable:
            # The refusal stands all the same: refusing never needs the database.
            log.warning("moderation refusal not audited: database unavailable (%s)", detail)
