"""Object storage in a dict: the embedded memory role's storage, and a fake for tests
(`available = False` simulates an outage)."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from nexus_image.application.errors import NotFound, StorageUnavailable
from nexus_image.application.ports import StoredObject


class InMemoryStorage:
    """Object storage in a dict; `available = False` makes every call fail like an outage."""

    def __init__(self, base_url: str = "memory://bucket") -> None:
        self.objects: dict[str, tuple[bytes, str, dict[str, str]]] = {}
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

    def keys(self, prefix: str, limit: int) -> list[str]:
        self._check()
        with self._lock:
            return sorted(k for k in self.objects if k.startswith(prefix))[:limit]

    def url(self, key: str, public: bool) -> str:
        return f"{self.base_url}/{key}" + ("" if public else "?signed=1")
