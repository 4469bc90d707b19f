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


def outcome_of(error: BaseException) -> str:
    code = getattr(error, "code", None)
    return f"failed:{code}" if isinstance(code, str) else f"failed:{type(error).__name__}"


@contextmanager
def audited(recorder: RecordAudit, actor: str, action: str, target: str = "") -> Iterator[AuditNote]:
    """Record `action` by `actor` on `target` once the block ends, as `success` or as the
    reason it failed. A broken audit store is logged loudly but does not undo the action."""
    note = AuditNote(target)
    request_id = structlog.contextvars.get_contextvars().get("request_id", "")
    try:
        yield note
    except Exception as error:
        _write(recorder, actor, action, note, outcome_of(error), request_id, str(error))
        raise
    _write(recorder, actor, action, note, "success", request_id, note.detail)


def _write(
    recorder: RecordAudit,
    actor: str,
    action: str,
    note: AuditNote,
    outcome: str,
    request_id: str,
    detail: str,
) -> None:
    text = f"request {request_id}: {detail}" if detail else f"request {request_id}"
    try:
        recorder.execute(actor, action, note.target, outcome, text)
    except Exception:
        log.exception("audit record lost", action=action, target=note.target, outcome=outcome)
