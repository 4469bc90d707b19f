"""Presets: the caller's saved prompt templates and settings, and those anybody shared. Somebody
else's private preset answers exactly like a missing one; a shared one is readable by everyone
and changed only by its owner."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, patch, post
from litestar.datastructures import ResponseHeader

from nexus_image.application.audit import RecordAudit
from nexus_image.application.ports import Page
from nexus_image.application.presets import ManagePresets, PresetView
from nexus_image.entrypoints.http.actions import audited
from nexus_image.entrypoints.http.controllers.library import PageNumber, PageSize
from nexus_image.entrypoints.http.docs import problems
from nexus_image.entrypoints.http.preset_schemas import (
    PresetChanges,
    PresetDocument,
    PresetPage,
    PresetRequest,
    PresetResponse,
    attachment,
)

DISPOSITION = ResponseHeader(
    name="Content-Disposition",
    description="attachment, with a file name made from the preset's name",
    documentation_only=True,
)


def _page(found: Page[PresetView]) -> PresetPage:
    items = [PresetResponse.of(view) for view in found.items]
    return PresetPage(items=items, total=found.total, page=found.page, size=found.size)


class PresetsController(Controller):
    path = "/presets"
    tags = ["presets"]

    @get("/", sync_to_thread=True, summary="The caller's presets, newest first", responses=problems())
    def mine(
        self, user: str, presets: ManagePresets, page: PageNumber = 0, size: PageSize = 20
    ) -> PresetPage:
        return _page(presets.list_mine(user, page, size))

    @post("/", sync_to_thread=True, summary="Create a preset", responses=problems(409, 413, 415, 422))
    def create(
        self, data: PresetRequest, user: str, presets: ManagePresets, audit: RecordAudit
    ) -> PresetResponse:
        """Names are unique per owner (409 otherwise); an owner keeps at most 200 presets (409
        `preset_limit_reached`)."""
        with audited(audit, user, "preset.create") as note:
            view = presets.create(user, **data.fields())
            note.target = view.id
        return PresetResponse.of(view)

    @get(
        "/public", sync_to_thread=True, summary="Presets shared by anyone, newest first", responses=problems()
    )
    def shared(self, presets: ManagePresets, page: PageNumber = 0, size: PageSize = 20) -> PresetPage:
        return _page(presets.list_public(page, size))

    @post(
        "/import",
        sync_to_thread=True,
        summary="Import an exported preset as a new one of the caller's",
        responses=problems(409, 413, 415, 422),
    )
    def import_preset(
        self, data: PresetDocument, user: str, presets: ManagePresets, audit: RecordAudit
    ) -> PresetResponse:
        """The new preset is private; a name the caller already uses gets a " (2)", " (3)", ...
        suffix. An unknown `format` or `version` is 422, naming the field and what is supported."""
        with audited(audit, user, "preset.import") as note:
            view = presets.import_document(user, data.document())
            note.target = view.id
        return PresetResponse.of(view)

    @get("/{preset_id:str}", sync_to_thread=True, summary="One preset", responses=problems(404))
    def get_preset(self, preset_id: str, user: str, presets: ManagePresets) -> PresetResponse:
        """The caller's own, or anybody's shared preset."""
        return PresetResponse.of(presets.get(user, preset_id))

    @patch(
        "/{preset_id:str}",
        sync_to_thread=True,
        summary="Change a preset (rename, edit, share)",
        responses=problems(404, 409, 413, 415, 422),
    )
    def update(
        self, preset_id: str, data: PresetChanges, user: str, presets: ManagePresets, audit: RecordAudit
    ) -> PresetResponse:
        with audited(audit, user, "preset.update", preset_id):
            return PresetResponse.of(presets.update(user, preset_id, data.changes()))

    @delete("/{preset_id:str}", sync_to_thread=True, summary="Delete a preset", responses=problems(404))
    def delete_preset(self, preset_id: str, user: str, presets: ManagePresets, audit: RecordAudit) -> None:
        with audited(audit, user, "preset.delete", preset_id):
            presets.delete(user, preset_id)

    @get(
        "/{preset_id:str}/export",
        sync_to_thread=True,
        summary="A preset as a file to import elsewhere",
        response_headers=[DISPOSITION],
        responses=problems(404),
    )
    def export(self, preset_id: str, user: str, presets: ManagePresets) -> Response[PresetDocument]:
        document = presets.export(user, preset_id)
        headers = {"Content-Disposition": attachment(str(document["name"]))}
        return Response(PresetDocument.of(document), headers=headers)
