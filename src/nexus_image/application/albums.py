"""Albums: a user's named collections of their own images."""

from __future__ import annotations

from dataclasses import dataclass, field

from nexus_image.application.access import check_page, owned_album, owned_job
from nexus_image.application.dto import AlbumView, ImageView
from nexus_image.application.ports import (
    Clock,
    IdGenerator,
    ObjectStorage,
    Page,
    UnitOfWork,
    UnitOfWorkFactory,
)
from nexus_image.application.transactions import in_transaction
from nexus_image.application.views import image_view
from nexus_image.domain.album import Album, validate_album_name
from nexus_image.domain.queue import TierPolicy


@dataclass(slots=True)
class ManageAlbums:
    """Only the owner sees or changes an album (anyone else's answers like a missing one), and
    only the owner's images go in it."""

    uow_factory: UnitOfWorkFactory
    storage: ObjectStorage
    clock: Clock
    ids: IdGenerator
    tiers: TierPolicy = field(default_factory=TierPolicy)  # for the views' `expires_at`

    def create(self, owner_id: str, name: str) -> AlbumView:
        album = Album(self.ids.new_id(), owner_id, validate_album_name(name), self.clock.now())

        def work(uow: UnitOfWork) -> Album:
            uow.albums.add(album)
            return album

        return AlbumView.of(in_transaction(self.uow_factory, work))

    def rename(self, owner_id: str, album_id: str, name: str) -> AlbumView:
        def work(uow: UnitOfWork) -> Album:
            album = owned_album(uow, album_id, owner_id)
            album.rename(name)
            uow.albums.save(album)
            return album

        return AlbumView.of(in_transaction(self.uow_factory, work))

    def delete(self, owner_id: str, album_id: str) -> None:
        """The album goes; its images stay."""

        def work(uow: UnitOfWork) -> None:
            owned_album(uow, album_id, owner_id)
            uow.albums.delete(album_id)

        in_transaction(self.uow_factory, work)

    def add_image(self, owner_id: str, album_id: str, image_id: str) -> AlbumView:
        def work(uow: UnitOfWork) -> Album:
            album = owned_album(uow, album_id, owner_id)
            owned_job(uow, image_id, owner_id).ensure_data_kept()  # no album for a removed image
            album.add(image_id)
            uow.albums.save(album)
            return album

        return AlbumView.of(in_transaction(self.uow_factory, work))

    def remove_image(self, owner_id: str, album_id: str, image_id: str) -> AlbumView:
        def work(uow: UnitOfWork) -> Album:
            album = owned_album(uow, album_id, owner_id)
            album.remove(image_id)
            uow.albums.save(album)
            return album

        return AlbumView.of(in_transaction(self.uow_factory, work))

    def list(self, owner_id: str) -> list[AlbumView]:
        with self.uow_factory() as uow:
            return [AlbumView.of(a) for a in uow.albums.list_by_owner(owner_id)]

    def get(self, owner_id: str, album_id: str) -> AlbumView:
        with self.uow_factory() as uow:
            return AlbumView.of(owned_album(uow, album_id, owner_id))

    def contents(self, owner_id: str, album_id: str, page: int = 0, size: int = 20) -> Page[ImageView]:
        """Images in the order they were added."""
        check_page(page, size)
        with self.uow_factory() as uow:
            album = owned_album(uow, album_id, owner_id)
            ids = album.image_ids[page * size : (page + 1) * size]
            jobs = {j.id: j for j in uow.jobs.list_by_ids(ids)}
        items = [image_view(self.storage, jobs[i], tiers=self.tiers) for i in ids if i in jobs]
        return Page(items, len(album.image_ids), page, size)
