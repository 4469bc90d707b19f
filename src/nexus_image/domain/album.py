"""Albums: named, owned collections of the owner's own images."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from nexus_image.domain.errors import AccessDenied, ImageNotInAlbum, InvalidValue
from nexus_image.domain.names import canonical_name

MAX_ALBUM_NAME = 100
MAX_ALBUM_IMAGES = 10_000


def validate_album_name(name: str) -> str:
    """The canonical name (`canonical_name`): names that differ only in Unicode form, invisible
    characters or spacing are one name, so they collide as duplicates."""
    clean = canonical_name(name)
    if not clean or len(clean) > MAX_ALBUM_NAME:
        raise InvalidValue("name", f"album name must have 1 to {MAX_ALBUM_NAME} characters")
    return clean


@dataclass(slots=True)
class Album:
    id: str
    owner_id: str
    name: str
    created_at: datetime
    image_ids: list[str] = field(default_factory=list)
    version: int = 0

    def ensure_owner(self, user_id: str) -> None:
        if self.owner_id != user_id:
            raise AccessDenied(f"album {self.id} does not belong to the caller")

    def rename(self, name: str) -> None:
        self.name = validate_album_name(name)

    def add(self, image_id: str) -> None:
        """Adding an image twice is a no-op; the order of insertion is kept."""
        if image_id in self.image_ids:
            return
        if len(self.image_ids) >= MAX_ALBUM_IMAGES:
            raise InvalidValue("image_id", f"an album holds at most {MAX_ALBUM_IMAGES} images")
        self.image_ids.append(image_id)

    def remove(self, image_id: str) -> None:
        if image_id not in self.image_ids:
            raise ImageNotInAlbum(f"image {image_id} is not in album {self.id}")
        self.image_ids.remove(image_id)
