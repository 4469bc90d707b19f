"""Albums with ordered membership, and favorites."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from nexus_image.adapters.sqlalchemy.base import SqlRepository
from nexus_image.adapters.sqlalchemy.mappers import album_from_row
from nexus_image.adapters.sqlalchemy.tables import album_images, albums, favorites, jobs
from nexus_image.application.errors import Conflict
from nexus_image.application.ports import Page
from nexus_image.domain.album import Album

if TYPE_CHECKING:
    from nexus_image.adapters.sqlalchemy.uow import SqlUnitOfWork


def _name_taken(album: Album) -> Conflict:
    return Conflict(f"an album named {album.name!r} already exists")


class SqlAlbums(SqlRepository):
    """Album names are unique per owner (Conflict). Membership rows carry a position, so that
    the insertion order survives; a save writes only what changed since the album was read."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        super().__init__(uow)
        self._members: dict[str, list[str]] = {}

    def reset(self) -> None:
        super().reset()
        self._members.clear()

    def _check_name(self, album: Album) -> None:
        taken = sa.select(albums.c.id).where(
            albums.c.owner_id == album.owner_id, albums.c.name == album.name, albums.c.id != album.id
        )
        if self.execute(taken.limit(1)).first() is not None:
            raise _name_taken(album)

    def add(self, album: Album) -> None:
        self._check_name(album)
        row = {"id": album.id, "owner_id": album.owner_id, "name": album.name}
        statement = sa.insert(albums).values(**row, created_at=album.created_at, version=album.version)
        self.execute(statement, on_unique=lambda: _name_taken(album))
        self._write_all(album.id, album.image_ids)

    def get(self, album_id: str) -> Album | None:
        row = self.execute(sa.select(albums).where(albums.c.id == album_id)).mappings().first()
        if row is None:
            return None
        members = self._load_members([album_id])[album_id]
        return album_from_row(row, list(members))

    def save(self, album: Album) -> None:
        self._check_name(album)
        values = {"name": album.name}
        self.guarded_update(albums, albums.c.id, album.id, album.version, values)
        self._sync_members(album.id, album.image_ids)

    def delete(self, album_id: str) -> None:
        self.execute(sa.delete(album_images).where(album_images.c.album_id == album_id))
        self.execute(sa.delete(albums).where(albums.c.id == album_id))
        self._members.pop(album_id, None)

    def list_by_owner(self, owner_id: str) -> list[Album]:
        """Creation order."""
        statement = (
            sa.select(albums).where(albums.c.owner_id == owner_id).order_by(albums.c.created_at, albums.c.id)
        )
        rows = list(self.execute(statement).mappings())
        members = self._load_members([r["id"] for r in rows])
        return [album_from_row(r, list(members[r["id"]])) for r in rows]

    def remove_image_everywhere(self, image_id: str) -> None:
        """The albums holding the image change, so their versions move too."""
        holding = sa.select(album_images.c.album_id).where(album_images.c.image_id == image_id)
        self.execute(sa.update(albums).where(albums.c.id.in_(holding)).values(version=albums.c.version + 1))
        self.execute(sa.delete(album_images).where(album_images.c.image_id == image_id))
        for album_id, members in self._members.items():
            self._members[album_id] = [i for i in members if i != image_id]

    # --- membership -----------------------------------------------------------------------------

    def _load_members(self, album_ids: list[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        if album_ids:
            statement = (
                sa.select(album_images.c.album_id, album_images.c.image_id)
                .where(album_images.c.album_id.in_(album_ids))
                .order_by(album_images.c.album_id, album_images.c.position)
            )
            for album_id, image_id in self.execute(statement):
                found[album_id].append(image_id)
        for album_id in album_ids:
            self._members[album_id] = list(found[album_id])
        return found

    def _write_all(self, album_id: str, image_ids: list[str], start: int = 1) -> None:
        if image_ids:
            rows = [
                {"album_id": album_id, "image_id": image_id, "position": start + offset}
                for offset, image_id in enumerate(image_ids)
            ]
            self.execute(sa.insert(album_images), rows)
        self._members[album_id] = list(image_ids)

    def _sync_members(self, album_id: str, after: list[str]) -> None:
        before = self._members.get(album_id)
        keep = set(after)
        kept = [i for i in before or [] if i in keep]
        if before is None or after[: len(kept)] != kept:  # unknown or reordered: write it all
            self.execute(sa.delete(album_images).where(album_images.c.album_id == album_id))
            self._write_all(album_id, after)
            return
        removed = [i for i in before if i not in keep]
        if removed:
            self.execute(
                sa.delete(album_images).where(
                    album_images.c.album_id == album_id, album_images.c.image_id.in_(removed)
                )
            )
        last = sa.select(sa.func.coalesce(sa.func.max(album_images.c.position), 0)).where(
            album_images.c.album_id == album_id
        )
        self._write_all(album_id, after[len(kept) :], self.execute(last).scalar_one() + 1)
        self._members[album_id] = list(after)


class SqlFavorites(SqlRepository):
    def _insert_ignoring_duplicates(self, values: dict[str, Any]) -> sa.Executable:
        if self.postgres:
            return postgresql.insert(favorites).values(**values).on_conflict_do_nothing()
        return sqlite.insert(favorites).values(**values).on_conflict_do_nothing()

    def add(self, user_id: str, image_id: str, at: datetime) -> None:
        """Idempotent: a second add keeps the first time."""
        values = {"user_id": user_id, "image_id": image_id, "created_at": at}
        self.execute(self._insert_ignoring_duplicates(values))

    def remove(self, user_id: str, image_id: str) -> None:
        self.execute(
            sa.delete(favorites).where(favorites.c.user_id == user_id, favorites.c.image_id == image_id)
        )

    def contains(self, user_id: str, image_id: str) -> bool:
        statement = sa.select(sa.literal(1)).where(
            favorites.c.user_id == user_id, favorites.c.image_id == image_id
        )
        return self.execute(statement).first() is not None

    def list_ids(self, user_id: str, page: int, size: int) -> Page[str]:
        """Most recently added first; ties by image id, descending. Only images the user may still
        see count: a favorite of an image its owner made private is neither listed nor counted."""
        visible = sa.and_(
            favorites.c.user_id == user_id,
            sa.or_(
                jobs.c.user_id == user_id, sa.and_(jobs.c.is_public.is_(True), jobs.c.status == "COMPLETED")
            ),
            jobs.c.data_removed_at.is_(None),  # its files removed by retention: not listed
        )
        joined = favorites.join(jobs, jobs.c.id == favorites.c.image_id)
        total = self.execute(sa.select(sa.func.count()).select_from(joined).where(visible)).scalar_one()
        statement = (
            sa.select(favorites.c.image_id)
            .select_from(joined)
            .where(visible)
            .order_by(favorites.c.created_at.desc(), favorites.c.image_id.desc())
            .limit(size)
            .offset(page * size)
        )
        return Page(list(self.execute(statement).scalars()), total, page, size)

    def remove_image_everywhere(self, image_id: str) -> None:
        self.execute(sa.delete(favorites).where(favorites.c.image_id == image_id))
