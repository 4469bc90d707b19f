"""What every state-changing handler wraps its use case in: an audit row, whatever happens, and
answers that never reveal someone else's private images or albums."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import structlog

from nexus_image.application.albums import ManageAlbums
from nexus_image.application.audit import RecordAudit
from nexus_image.application.errors import NotFound
from nexus_image.application.images import ImageQueries
from nexus_image.domain.errors import AccessDenied

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


def _album_is_callers(albums: ManageAlbums, user_id: str, album_id: str) -> bool:
    try:
        albums.get(user_id, album_id)
    except (AccessDenied, NotFound):
        return False
    return True


def _image_is_visible(queries: ImageQueries, user_id: str, image_id: str) -> bool:
    try:
        queries.get(user_id, image_id)
    except (AccessDenied, NotFound):
        return False
    return True


@contextmanager
def concealed(
    queries: ImageQueries,
    albums: ManageAlbums,
    user_id: str,
    *,
    image_id: str | None = None,
    album_id: str | None = None,
) -> Iterator[None]:
    """Turn "not yours" into "not found" wherever the caller cannot see the thing at all, so the
    answer for another user's private image or album is exactly the answer for a missing one.
    A public image stays 403 for a change only its owner may make: its existence is no secret."""
    try:
        yield
    except AccessDenied:
        if album_id is not None and not _album_is_callers(albums, user_id, album_id):
            raise NotFound("album", album_id) from None
        if image_id is not None and not _image_is_visible(queries, user_id, image_id):
            raise NotFound("image", image_id) from None
        raise
