"""In-memory service keys: staged like the other in-memory repositories, applied at commit."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from nexus_image.application.errors import ConcurrentUpdate, Conflict
from nexus_image.domain.service_key import ServiceKey

if TYPE_CHECKING:
    from nexus_image.adapters.memory.database import MemoryStore


class MemoryServiceKeys:
    """Uses and revocations are staged as changes of one field each, like the SQL adapter's
    UPDATEs of one column, so a revocation committed by another unit is never undone."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.added: dict[str, ServiceKey] = {}
        self.uses: dict[str, datetime] = {}
        self.revocations: dict[str, datetime] = {}

    def add(self, key: ServiceKey) -> None:
        if self.get(key.id) is not None:
            raise Conflict(f"service key {key.id} already exists")
        self.added[key.id] = replace(key)

    def _staged(self, key: ServiceKey) -> ServiceKey:
        changed = replace(key)
        if key.id in self.uses:
            changed.last_used_at = self.uses[key.id]
        if key.id in self.revocations and changed.revoked_at is None:
            changed.revoked_at = self.revocations[key.id]
        return changed

    def get(self, key_id: str) -> ServiceKey | None:
        with self.store.lock:
            found = self.added.get(key_id) or self.store.service_keys.get(key_id)
        return self._staged(found) if found is not None else None

    def list_all(self) -> list[ServiceKey]:
        with self.store.lock:
            every = {**self.store.service_keys, **self.added}
        keys = [self._staged(key) for key in every.values()]
        return sorted(keys, key=lambda k: (k.created_at, k.id), reverse=True)

    def record_use(self, key_id: str, at: datetime) -> None:
        self.uses[key_id] = at

    def record_revocation(self, key_id: str, at: datetime) -> None:
        self.revocations.setdefault(key_id, at)

    def check(self) -> None:
        for key_id in self.added:
            if key_id in self.store.service_keys:
                raise ConcurrentUpdate(f"service key {key_id} was created concurrently")

    def apply(self) -> None:
        keys = self.store.service_keys
        keys.update({key_id: replace(key) for key_id, key in self.added.items()})
        for key_id, at in self.uses.items():
            if key_id in keys:
                keys[key_id] = replace(keys[key_id], last_used_at=at)
        for key_id, at in self.revocations.items():
            if key_id in keys and keys[key_id].revoked_at is None:
                keys[key_id] = replace(keys[key_id], revoked_at=at)
