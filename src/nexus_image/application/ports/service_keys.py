"""Where service keys are kept."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from nexus_image.domain.service_key import ServiceKey


class ServiceKeyRepository(Protocol):
    def add(self, key: ServiceKey) -> None:
        """Raises Conflict when a key with this id exists."""

    def get(self, key_id: str) -> ServiceKey | None: ...
    def list_all(self) -> list[ServiceKey]:
        """Every key, revoked and expired ones included, newest first."""

    def record_use(self, key_id: str, at: datetime) -> None:
        """Set the key's last use; nothing else of the key is written (a revocation committed
        meanwhile stands)."""

    def record_revocation(self, key_id: str, at: datetime) -> None:
        """Revoke the key at `at`, unless it was revoked already (the first time stands)."""
