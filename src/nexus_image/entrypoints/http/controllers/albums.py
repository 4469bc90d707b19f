"""Albums: the caller's named collections of their own images. Nobody else's album is visible:
another user's album answers exactly like a missing one."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post, put

from nexus_image.application.albums import ManageAlbums
from nexus_image.application.audit import RecordAudit
from nexus_image.entrypoints.http.actions import audited
from nexus_image.entrypoints.http.controllers.library import PageNumber, PageSize, page_of
from nexus_image.entrypoints.http.docs import problems
from nexus_image.entrypoints.http.schemas import AlbumRequest, AlbumResponse, ImagePage


class AlbumsController(Controller):
    path = "/albums"
    tags = ["albums"]

    @post("/", sync_to_thread=True, summary="Create an album", responses=problems(400, 409, 413, 415, 422))
    def create(
        self, data: AlbumRequest, user: str, albums: ManageAlbums, audit: RecordAudit
    ) -> AlbumResponse:
        """Names are unique per owner (409 otherwise)."""
        with audited(audit, user, "album.create") as note:
            view = albums.create(user, data.name)
            note.target = view.id
        return AlbumResponse.of(view)

    @get("/", sync_to_thread=True, summary="The caller's albums, oldest first", responses=problems())
    def list_albums(self, user: str, albums: ManageAlbums) -> list[AlbumResponse]:
        return [AlbumResponse.of(view) for view in albums.list(user)]

    @get("/{album_id:str}", sync_to_thread=True, summary="One album", responses=problems(404))
    def get_album(self, album_id: str, user: str, albums: ManageAlbums) -> AlbumResponse:
        return AlbumResponse.of(albums.get(user, album_id))

    @patch(
        "/{album_id:str}",
        sync_to_thread=True,
        summary="Rename an album",
        responses=problems(400, 404, 409, 413, 415, 422),
    )
    def rename(
        self, album_id: str, data: AlbumRequest, user: str, albums: ManageAlbums, audit: RecordAudit
    ) -> AlbumResponse:
        with audited(audit, user, "album.rename", album_id):
            return AlbumResponse.of(albums.rename(user, album_id, data.name))

    @delete(
        "/{album_id:str}",
        sync_to_thread=True,
        summary="Delete an album (its images stay)",
        responses=problems(404),
    )
    def delete_album(self, album_id: str, user: str, albums: ManageAlbums, audit: RecordAudit) -> None:
        with audited(audit, user, "album.delete", album_id):
            albums.delete(user, album_id)

    @get(
        "/{album_id:str}/images",
        sync_to_thread=True,
        summary="The album's images, in the order they were added",
        responses=problems(400, 404),
    )
    def contents(
        self,
        request: Request[Any, Any, Any],
        album_id: str,
        user: str,
        albums: ManageAlbums,
        page: PageNumber = 0,
        size: PageSize = 20,
    ) -> ImagePage:
        return page_of(request, albums.contents(user, album_id, page, size))

    @put(
        "/{album_id:str}/images/{image_id:str}",
        sync_to_thread=True,
        summary="Add one of the caller's images",
        responses=problems(403, 404, 410, 422),
    )
    def add_image(
        self, album_id: str, image_id: str, user: str, albums: ManageAlbums, audit: RecordAudit
    ) -> AlbumResponse:
        """Only the caller's own images go in their albums (not one whose files retention
        removed: 410). Adding an image twice changes nothing."""
        target = f"{album_id}/{image_id}"
        with audited(audit, user, "album.add_image", target):
            return AlbumResponse.of(albums.add_image(user, album_id, image_id))

    @delete(
        "/{album_id:str}/images/{image_id:str}",
        sync_to_thread=True,
        summary="Take an image out of the album",
        responses=problems(404),
    )
    def remove_image(
        self, album_id: str, image_id: str, user: str, albums: ManageAlbums, audit: RecordAudit
    ) -> None:
        target = f"{album_id}/{image_id}"
        with audited(audit, user, "album.remove_image", target):
            albums.remove_image(user, album_id, image_id)
