"""What every SQL repository shares: the unit of work's connection and optimistic versions."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult

from nexus_image.application.errors import ApplicationError, ConcurrentUpdate

if TYPE_CHECKING:
    from nexus_image.adapters.sqlalchemy.uow import SqlUnitOfWork


class Versions:
    """The version each row has in the database within the current transaction.

    An object read (or built) in this transaction and saved twice must not collide with its own
    first save, so every version from the first one saved up to the one now in the table is
    "ours"; any other version is stale."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, int]] = {}

    def expected(self, key: str, version: int) -> int:
        low, current = self._seen.get(key, (version, version))
        return current if low <= version <= current else version

    def written(self, key: str, version: int, new: int) -> None:
        low, _ = self._seen.get(key, (version, version))
        self._seen[key] = (min(low, version), new)

    def clear(self) -> None:
        self._seen.clear()


class SqlRepository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow
        self.versions = Versions()

    @property
    def postgres(self) -> bool:
        return self.uow.dialect == "postgresql"

    def execute(
        self,
        statement: sa.Executable,
        params: Any = None,
        on_unique: Callable[[], ApplicationError] | None = None,
    ) -> CursorResult[*tuple[Any, ...]]:
        return self.uow.execute(statement, params, on_unique)

    def reset(self) -> None:
        """Forget what was learnt in the transaction that just ended."""
        self.versions.clear()

    def guarded_update(
        self, table: sa.Table, key_column: sa.Column[str], key: str, version: int, values: dict[str, Any]
    ) -> None:
        """UPDATE ... WHERE key = ? AND version = ?: no row means somebody else changed (or
        deleted) it since it was read. The version is the caller's, or the one this transaction
        has already written for the same object."""
        expected = self.versions.expected(key, version)
        statement = (
            sa.update(table)
            .where(key_column == key, table.c.version == expected)
            .values(**values, version=table.c.version + 1)
        )
        if self.execute(statement).rowcount != 1:
            raise ConcurrentUpdate(f"{table.name} {key} changed since it was read")
        self.versions.written(key, version, expected + 1)
