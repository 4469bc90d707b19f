"""Finding images by the words of their prompt and by their settings, in one's own images or in
the public gallery."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from nexus_image.application.access import owned_album
from nexus_image.application.dto import ImageView
from nexus_image.application.errors import NotFound
from nexus_image.application.ports import ObjectStorage, UnitOfWork, UnitOfWorkFactory
from nexus_image.application.views import image_view
from nexus_image.domain.errors import InvalidValue
from nexus_image.domain.queue import TierPolicy
from nexus_image.domain.search import SearchQuery, SearchSort, decode_cursor, encode_cursor

ALBUM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
GALLERY = "gallery"


@dataclass(frozen=True, slots=True)
class SearchResults:
    """A page of images, and the cursor of the next page (None: this is the last)."""

    items: list[ImageView]
    next_cursor: str | None


@dataclass(slots=True)
class SearchImages:
    """A user searches their own images (the favorite and album filters are theirs: another
    user's album answers like a missing one); anyone searches the gallery, which holds only
    public COMPLETED images, never someone's private one. A cursor continues the query it was
    made for and no other."""

    uow_factory: UnitOfWorkFactory
    storage: ObjectStorage
    policy: TierPolicy | None = None  # the tiers, for each image's `expires_at`

    def mine(self, user_id: str, query: SearchQuery, cursor: str | None = None) -> SearchResults:
        scope = f"user:{user_id}"
        query = self._positioned(query, scope, cursor)
        with self.uow_factory() as uow:
            if query.album is not None:
                self._check_album(uow, user_id, query.album)
            found = uow.jobs.search(user_id, query)
            liked = {j.id for j in found.items if query.favorite or uow.favorites.contains(user_id, j.id)}
        views = [image_view(self.storage, j, j.id in liked, self.policy) for j in found.items]
        following = encode_cursor(found.next, query.fingerprint(scope)) if found.next else None
        return SearchResults(views, following)

    def gallery(self, query: SearchQuery, cursor: str | None = None) -> SearchResults:
        if query.favorite is not None or query.album is not None:
            name = "favorite" if query.favorite is not None else "album"
            raise InvalidValue(name, f"the gallery has no {name} filter: search your own images for it")
        query = self._positioned(query, GALLERY, cursor)
        with self.uow_factory() as uow:
            found = uow.jobs.search(None, query)
        views = [image_view(self.storage, j, tiers=self.policy) for j in found.items]
        following = encode_cursor(found.next, query.fingerprint(GALLERY)) if found.next else None
        return SearchResults(views, following)

    @staticmethod
    def _positioned(query: SearchQuery, scope: str, cursor: str | None) -> SearchQuery:
        if not cursor:
            return replace(query, after=None)
        scored = query.sort is SearchSort.RELEVANCE
        return replace(query, after=decode_cursor(cursor, query.fingerprint(scope), scored))

    @staticmethod
    def _check_album(uow: UnitOfWork, user_id: str, album_id: str) -> None:
        """The caller's album; anything else (malformed, missing, another user's) is one 404."""
        if not ALBUM_ID.fullmatch(album_id):
            raise NotFound("album", album_id)
        owned_album(uow, album_id, user_id)
