"""The caller's own data (GDPR): all of it as one zip, and its erasure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

import structlog
from litestar import Controller, delete, get
from litestar.params import Parameter
from litestar.response import Stream

from nexus_image.application.account_export import EXPORT_ACTION, ExportAccountData
from nexus_image.application.audit import RecordAudit
from nexus_image.application.erasure import EraseUser
from nexus_image.domain.errors import InvalidValue
from nexus_image.entrypoints.http.actions import audited
from nexus_image.entrypoints.http.auth import ALLOW_SUSPENDED
from nexus_image.entrypoints.http.docs import problems

CONFIRM_HEADER = "X-Confirm-Erasure"

ConfirmErasure = Annotated[
    str | None,
    Parameter(
        header=CONFIRM_HEADER,
        required=False,
        max_length=255,
        description="Your own user id: says that you mean to erase your account and all its data.",
    ),
]


def _unbroken(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Litestar ends a stream quietly when a sync iterator raises ValueError: any error must
    break the connection instead, so that a zip cut short is never taken for a whole one."""
    try:
        yield from chunks
    except ValueError as error:
        raise RuntimeError(f"the export stopped: {error}") from error


class AccountDataController(Controller):
    path = "/account"
    tags = ["account"]

    @get(
        "/export",
        sync_to_thread=True,
        summary="Download all one's images and their records, as a zip",
        response_description="A zip archive, sent as it is made",
        media_type="application/zip",
        responses=problems(503),
        opt={ALLOW_SUSPENDED: True},
    )
    def export(self, user: str, export_account: ExportAccountData, audit: RecordAudit) -> Stream:
        """A zip made while it is sent (its size is not known in advance): `images/<id>.png`
        for each COMPLETED image whose file is kept, the PNG as stored, with its generation
        parameters in its text chunks (`POST /images/parameters` reads them back);
        `images.json`, every image's record (`id`, `status`, times, `is_public`,
        `is_favorite`, the names of the `albums` it is in, `parameters` as this API names
        them, and `file`, its PNG in the archive or null); and `albums.json`. Allowed to a
        suspended account too. Audited."""
        with audited(audit, user, EXPORT_ACTION, f"account:{user}") as note:
            archive = export_account.open(user)
            note.detail = f"{archive.images} images"
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        return Stream(
            _unbroken(archive.chunks),
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="nexus-image-export-{day}.zip"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @delete(
        "/",
        status_code=204,
        sync_to_thread=True,
        summary="Erase one's account and all its data",
        responses=problems(422, 503),
        opt={ALLOW_SUSPENDED: True},
    )
    def erase(self, user: str, erase_user: EraseUser, confirm: ConfirmErasure = None) -> None:
        """Send `X-Confirm-Erasure: <your user id>` (anything else is a 422 naming the header).
        Your queued and running images are cancelled, then your images, thumbnails, uploads,
        albums, favorites (and others' favorites of your images), presets, webhooks, service
        keys and every other row naming you are deleted; your token ledger and the audit
        trail are kept under a one-way pseudonym instead of your id. 204 once done; erasing
        again answers 204 too (nothing is left to erase), and a run cut short (503) finishes
        when sent again. A later request with your token starts a new, empty account."""
        if confirm != user:
            raise InvalidValue(
                CONFIRM_HEADER,
                f"to erase your account and all its data, send the header {CONFIRM_HEADER} "
                "with your user id as its value",
            )
        request_id = structlog.contextvars.get_contextvars().get("request_id", "")
        erase_user.execute(user, note=f"request {request_id}")
