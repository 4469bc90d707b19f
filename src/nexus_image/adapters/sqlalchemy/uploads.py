"""Uploads in SQL: one row per stored picture."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from nexus_image.adapters.sqlalchemy.base import SqlRepository
from nexus_image.adapters.sqlalchemy.tables import uploads
from nexus_image.application.errors import ConcurrentUpdate
from nexus_image.domain.upload import Upload


def _upload(row: Any) -> Upload:
    return Upload(
        id=row["id"],
        user_id=row["user_id"],
        width=row["width"],
        height=row["height"],
        size=row["size"],
        source_format=row["source_format"],
        created_at=row["created_at"],
    )


class SqlUploads(SqlRepository):
    def add(self, upload: Upload) -> None:
        values = {
            "id": upload.id,
            "user_id": upload.user_id,
            "width": upload.width,
            "height": upload.height,
            "size": upload.size,
            "source_format": upload.source_format,
            "created_at": upload.created_at,
        }
        self.execute(
            sa.insert(uploads).values(**values),
            on_unique=lambda: ConcurrentUpdate(f"upload {upload.id} was created concurrently"),
        )

    def get(self, upload_id: str) -> Upload | None:
        row = self.execute(sa.select(uploads).where(uploads.c.id == upload_id)).mappings().first()
        return _upload(row) if row is not None else None

    def delete(self, upload_id: str) -> None:
        self.execute(sa.delete(uploads).where(uploads.c.id == upload_id))

    def list_by_ids(self, upload_ids: Collection[str]) -> list[Upload]:
        if not upload_ids:
            return []
        rows = self.execute(sa.select(uploads).where(uploads.c.id.in_(set(upload_ids)))).mappings()
        return [_upload(row) for row in rows]

    def list_by_user(self, user_id: str, limit: int) -> list[Upload]:
        statement = (
            sa.select(uploads)
            .where(uploads.c.user_id == user_id)
            .order_by(uploads.c.created_at.desc(), uploads.c.id.desc())
            .limit(limit)
        )
        return [_upload(row) for row in self.execute(statement).mappings()]

    def usage(self, user_id: str) -> tuple[int, int]:
        statement = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(uploads.c.size), 0)).where(
            uploads.c.user_id == user_id
        )
        count, size = self.execute(statement).one()
        return int(count), int(size)
