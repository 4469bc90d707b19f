"""Service keys in SQL: one row per key, the secret's hash only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from nexus_image.adapters.sqlalchemy.base import SqlRepository
from nexus_image.adapters.sqlalchemy.tables import service_keys
from nexus_image.application.errors import Conflict
from nexus_image.domain.service_key import ServiceKey


def _key(row: Any) -> ServiceKey:
    return ServiceKey(
        id=row["id"],
        name=row["name"],
        secret_hash=row["secret_hash"],
        user_id=row["user_id"],
        scopes=frozenset(row["scopes"].split()),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
        rate_limit_per_minute=row["rate_limit_per_minute"],
    )


class SqlServiceKeys(SqlRepository):
    def add(self, key: ServiceKey) -> None:
        values = {
            "id": key.id,
            "name": key.name,
            "secret_hash": key.secret_hash,
            "user_id": key.user_id,
            "scopes": " ".join(sorted(key.scopes)),
            "created_at": key.created_at,
            "expires_at": key.expires_at,
            "revoked_at": key.revoked_at,
            "last_used_at": key.last_used_at,
            "rate_limit_per_minute": key.rate_limit_per_minute,
        }
        self.execute(
            sa.insert(service_keys).values(**values),
            on_unique=lambda: Conflict(f"service key {key.id} already exists"),
        )

    def get(self, key_id: str) -> ServiceKey | None:
        row = self.execute(sa.select(service_keys).where(service_keys.c.id == key_id)).mappings().first()
        return _key(row) if row is not None else None

    def list_all(self) -> list[ServiceKey]:
        statement = sa.select(service_keys).order_by(
            service_keys.c.created_at.desc(), service_keys.c.id.desc()
        )
        return [_key(row) for row in self.execute(statement).mappings()]

    def record_use(self, key_id: str, at: datetime) -> None:
        self.execute(sa.update(service_keys).where(service_keys.c.id == key_id).values(last_used_at=at))

    def record_revocation(self, key_id: str, at: datetime) -> None:
        self.execute(
            sa.update(service_keys)
            .where(service_keys.c.id == key_id, service_keys.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
