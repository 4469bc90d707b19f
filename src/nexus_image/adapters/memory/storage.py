"""Object storage in a dict: the embedded memory role's storage, and a fake for tests
(`available = False` simulates an outage)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime

from nexus_image.application.errors import NotFound, StorageUnavailable
from nexus_image.application.ports import ListedObject, StoredObject


class InMemoryStorage:
    """Object storage in a dict; `available = False` makes every call fail like an outage."""

    def __init__(self, base_url: str = "memory://bucket") -> None:
        self.objects: dict[str, tuple[bytes, str, dict[str, str]]] = {}
        self.written: dict[str, datetime] = {}  # when each was put (a test may age one)
        self.base_url = base_url
        self.available = True
        self._lock = threading.Lock()

    def _check(self) -> None:
        if not self.available:
            raise StorageUnavailable("object storage is unavailable")

    def put(self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> StoredObject:
        self._check()
        with self._lock:
            self.objects[key] = (bytes(data), content_type, dict(metadata))
            self.written[key] = datetime.now(UTC)
        return StoredObject(key, len(data), content_type)

    def get(self, key: str) -> bytes:
        self._check()
        with self._lock:
            if key not in self.objects:
                raise NotFound("object", key)
            return self.objects[key][0]

    def delete(self, key: str) -> None:
        self._check()
        with self._lock:
            self.objects.pop(key, None)
            self.written.pop(key, None)

    def keys(self, prefix: str, limit: int) -> list[str]:
        self._check()
        with self._lock:
            return sorted(k for k in self.objects if k.startswith(prefix))[:limit]

    def listing(self, prefix: str, after: str | None, limit: int) -> list[ListedObject]:
        self._check()
        with self._lock:
            keys = sorted(k for k in self.objects if k.startswith(prefix) and (after is None or k > after))
            now = datetime.now(UTC)
            return [ListedObject(k, self.written.get(k, now)) for k in keys[:limit]]

    def url(self, key: str, public: bool) -> str:
        return f"{self.base_url}/{key}" + ("" if public else "?signed=1")
