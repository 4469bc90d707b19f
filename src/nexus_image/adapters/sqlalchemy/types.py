"""Column types shared by the tables: UTC timestamps and identifiers that sort the same everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on every engine.

    PostgreSQL stores `timestamptz`; SQLite has no time zones, so values are stored as naive UTC
    text (which then sorts chronologically). Naive datetimes are refused rather than guessed."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the database stores UTC instants only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        if stored.tzinfo is None:
            return stored.replace(tzinfo=UTC)
        return stored.astimezone(UTC)


def identifier(length: int = 64) -> sa.types.TypeEngine[str]:
    """Identifiers compare byte by byte ("C" collation on PostgreSQL), like Python strings do, so
    that ties broken by id come out in the same order as the in-memory adapter's."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def big_serial() -> sa.types.TypeEngine[int]:
    """BIGINT identity on PostgreSQL; SQLite only auto-increments an INTEGER primary key."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def json_document() -> sa.types.TypeEngine[Any]:
    from sqlalchemy.dialects.postgresql import JSONB

    return sa.JSON().with_variant(JSONB(), "postgresql")
