"""Browsing and organising images: the caller's own, favorites, visibility, the public gallery."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, put
from litestar.params import Parameter

from nexus_image.application.access import MAX_PAGE_SIZE
from nexus_image.application.audit import RecordAudit
from nexus_image.application.dto import ImageView
from nexus_image.application.images import ImageQueries, ManageImages
from nexus_image.application.ports import Page
from nexus_image.entrypoints.http.actions import audited
from nexus_image.entrypoints.http.controllers.images import respond
from nexus_image.entrypoints.http.docs import problems
from nexus_image.entrypoints.http.schemas import ImagePage, ImageResponse, VisibilityRequest

PageNumber = Annotated[int, Parameter(ge=0, le=1_000_000, description="0-based", schema_extra={"minimum": 0})]
PageSize = Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE, description=f"1 to {MAX_PAGE_SIZE}")]


def page_of(request: Request[Any, Any, Any], found: Page[ImageView]) -> ImagePage:
    return ImagePage(
        items=[respond(request, view) for view in found.items],
        total=found.total,
        page=found.page,
        size=found.size,
    )


class LibraryController(Controller):
    path = "/images"
    tags = ["images"]

    @get(
        "/user/me", sync_to_thread=True, summary="The caller's images, newest first", responses=problems(400)
    )
    def mine(
        self,
        request: Request[Any, Any, Any],
        user: str,
        queries: ImageQueries,
        page: PageNumber = 0,
        size: PageSize = 20,
    ) -> ImagePage:
        return page_of(request, queries.list_mine(user, page, size))

    @get("/public", sync_to_thread=True, summary="The public gallery", responses=problems(400))
    def gallery(
        self,
        request: Request[Any, Any, Any],
        queries: ImageQueries,
        page: PageNumber = 0,
        size: PageSize = 20,
    ) -> ImagePage:
        """Public COMPLETED images of every user, most recently completed first."""
        return page_of(request, queries.gallery(page, size))

    @get("/favorites", sync_to_thread=True, summary="The caller's favorites", responses=problems(400))
    def favorites(
        self,
        request: Request[Any, Any, Any],
        user: str,
        queries: ImageQueries,
        page: PageNumber = 0,
        size: PageSize = 20,
    ) -> ImagePage:
        """Most recently added first."""
        return page_of(request, queries.favorites(user, page, size))

    @put(
        "/{image_id:str}/favorite",
        status_code=204,
        sync_to_thread=True,
        summary="Mark as favorite",
        responses=problems(404, 410),
    )
    def favorite(self, image_id: str, user: str, manage: ManageImages, audit: RecordAudit) -> None:
        """Any image the caller can see: their own, or a public one. Idempotent. An image whose
        files retention removed is 410."""
        with audited(audit, user, "image.favorite", image_id):
            manage.favorite(user, image_id, on=True)

    @delete(
        "/{image_id:str}/favorite",
        sync_to_thread=True,
        summary="Remove from favorites",
        responses=problems(404),
    )
    def unfavorite(self, image_id: str, user: str, manage: ManageImages, audit: RecordAudit) -> None:
        """Idempotent."""
        with audited(audit, user, "image.unfavorite", image_id):
            manage.favorite(user, image_id, on=False)

    @patch(
        "/{image_id:str}/visibility",
        sync_to_thread=True,
        summary="Publish to or withdraw from the gallery",
        responses=problems(400, 403, 404, 409, 413, 415),
    )
    def visibility(
        self,
        request: Request[Any, Any, Any],
        image_id: str,
        data: VisibilityRequest,
        user: str,
        manage: ManageImages,
        queries: ImageQueries,
        audit: RecordAudit,
    ) -> ImageResponse:
        """A public image shows in the gallery once it is COMPLETED. Owner only. An image the
        output check flagged cannot be made public: 409 `unsafe_image` with the `reason`."""
        action = "image.publish" if data.is_public else "image.unpublish"
        with audited(audit, user, action, image_id):
            manage.set_visibility(user, image_id, data.is_public)
        return respond(request, queries.get(user, image_id))
