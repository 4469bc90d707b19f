"""A generation request on its way in, from any route that makes one (ours, remix, OpenAI's):
submitted through the use case, audited, a rate-limit refusal answered as a 429."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nexus_image.application.audit import RecordAudit
from nexus_image.application.dto import ImageView
from nexus_image.application.errors import RateLimitExceeded
from nexus_image.entrypoints.http.actions import AuditNote, audited
from nexus_image.entrypoints.http.errors import RateLimited
from nexus_image.entrypoints.http.limits import retry_after_header


@dataclass(frozen=True, slots=True)
class Submission:
    """A generation request on its way in: who, the audit action, and the use-case call that
    submits it (`submit(note)` writes the success audit row, `note.text`, in the request's
    transaction)."""

    user: str
    action: str
    submit: Callable[[AuditNote], tuple[list[ImageView], bool]]
    target: str = ""
    detail: str = ""


def submit_audited(audit: RecordAudit, submission: Submission) -> list[ImageView]:
    """Every job of the request, submitted, audited either way (a refusal for the rate limit
    as the 429 it is)."""
    with audited(audit, submission.user, submission.action, submission.target, success_recorded=True) as note:
        note.detail = submission.detail
        try:
            views, _ = submission.submit(note)
        except RateLimitExceeded as error:
            raise RateLimited(retry_after_header(error.wait)) from error
        note.target = views[0].id
    return views
