"""What every state-changing handler wraps its use case in: an audit row, whatever happens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import structlog

from nexus_image.application.audit import RecordAudit

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class AuditNote:
    """Filled in by the handler when the target is known only afterwards (a new job's id)."""

    target: str
    detail: str = ""
    request_id: str = ""

    @property
    def text(self) -> str:
        """The row's detail: the request it came from, and what the handler added."""
        return f"request {self.request_id}: {self.detail}" if self.detail else f"request {self.request_id}"


def outcome_of(error: BaseException) -> str:
    code = getattr(error, "code", None)
    return f"failed:{code}" if isinstance(code, str) else f"failed:{type(error).__name__}"


@contextmanager
def audited(
    recorder: RecordAudit, actor: str, action: str, target: str = "", success_recorded: bool = False
) -> Iterator[AuditNote]:
    """Record `action` by `actor` on `target` once the block ends, as `success` or as the
    reason it failed. A broken audit store is logged loudly but does not undo the action. With
    `success_recorded`, the block's own transaction wrote the success row (with `note.text`):
    only a failure is written here."""
    request_id = structlog.contextvars.get_contextvars().get("request_id", "")
    note = AuditNote(target, request_id=request_id)
    try:
        yield note
    except Exception as error:
        note.detail = str(error)
        _write(recorder, actor, action, note, outcome_of(error))
        raise
    if not success_recorded:
        _write(recorder, actor, action, note, "success")


def _write(recorder: RecordAudit, actor: str, action: str, note: AuditNote, outcome: str) -> None:
    try:
        recorder.execute(actor, action, note.target, outcome, note.text)
    except Exception:
        log.exception("audit record lost", action=action, target=note.target, outcome=outcome)
