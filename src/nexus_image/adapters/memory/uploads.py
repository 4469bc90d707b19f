"""In-memory uploads: staged like the other in-memory repositories, applied at commit."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from nexus_image.application.errors import ConcurrentUpdate
from nexus_image.domain.upload import Upload

if TYPE_CHECKING:
    from nexus_image.adapters.memory.database import MemoryStore


class MemoryUploads:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.writes: dict[str, Upload | None] = {}

    def add(self, upload: Upload) -> None:
        self.writes[upload.id] = upload

    def get(self, upload_id: str) -> Upload | None:
        if upload_id in self.writes:
            return self.writes[upload_id]
        with self.store.lock:
            return self.store.uploads.get(upload_id)

    def delete(self, upload_id: str) -> None:
        self.writes[upload_id] = None

    def _merged(self) -> list[Upload]:
        with self.store.lock:
            view = dict(self.store.uploads)
        for key, value in self.writes.items():
            if value is None:
                view.pop(key, None)
            else:
                view[key] = value
        return list(view.values())

    def list_by_ids(self, upload_ids: Collection[str]) -> list[Upload]:
        wanted = set(upload_ids)
        return [u for u in self._merged() if u.id in wanted]

    def list_by_user(self, user_id: str, limit: int) -> list[Upload]:
        mine = [u for u in self._merged() if u.user_id == user_id]
        return sorted(mine, key=lambda u: (u.created_at, u.id), reverse=True)[:limit]

    def usage(self, user_id: str) -> tuple[int, int]:
        mine = [u for u in self._merged() if u.user_id == user_id]
        return len(mine), sum(u.size for u in mine)

    def check(self) -> None:
        for key, value in self.writes.items():
            if value is not None and key in self.store.uploads:
                raise ConcurrentUpdate(f"upload {key} was created concurrently")

    def apply(self) -> None:
        for key, value in self.writes.items():
            if value is None:
                self.store.uploads.pop(key, None)
            else:
                self.store.uploads[key] = value
