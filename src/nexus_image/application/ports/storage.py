"""Object storage for images and thumbnails."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    content_type: str


@dataclass(frozen=True, slots=True)
class ListedObject:
    key: str
    written_at: datetime  # when the object was last written (UTC)


class ObjectStorage(Protocol):
    def put(self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> StoredObject:
        """Raises StorageUnavailable on infrastructure failure."""

    def get(self, key: str) -> bytes:
        """Raises NotFound when absent."""

    def delete(self, key: str) -> None:
        """Idempotent."""

    def keys(self, prefix: str, limit: int) -> list[str]:
        """Up to `limit` keys of the objects whose key starts with `prefix`, in key order
        (what a folder still holds, for erasure)."""

    def listing(self, prefix: str, after: str | None, limit: int) -> list[ListedObject]:
        """Up to `limit` objects whose key starts with `prefix` and comes after `after` (None:
        from the first), in key order, with when each was written: a walk through a folder in
        bounded pages."""

    def url(self, key: str, public: bool) -> str:
        """A URL a client can download from (presigned for private objects where supported)."""
