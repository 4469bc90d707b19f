"""The SQL unit of work: one connection, one transaction, committed only when told."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, CursorResult, Engine

from nexus_image.adapters.sqlalchemy.account_data import SqlAccountData
from nexus_image.adapters.sqlalchemy.accounts import SqlAccounts, SqlIdempotency
from nexus_image.adapters.sqlalchemy.albums import SqlAlbums, SqlFavorites
from nexus_image.adapters.sqlalchemy.base import SqlRepository
from nexus_image.adapters.sqlalchemy.engine import translated
from nexus_image.adapters.sqlalchemy.jobs import SqlJobs
from nexus_image.adapters.sqlalchemy.outbox import SqlAudit, SqlOutbox
from nexus_image.adapters.sqlalchemy.presets import SqlPresets
from nexus_image.adapters.sqlalchemy.queue import SqlQueue
from nexus_image.adapters.sqlalchemy.rate_limit import SqlRateLimitLog
from nexus_image.adapters.sqlalchemy.service_keys import SqlServiceKeys
from nexus_image.adapters.sqlalchemy.uploads import SqlUploads
from nexus_image.adapters.sqlalchemy.webhooks import SqlWebhooks
from nexus_image.application.errors import ApplicationError


class SqlUnitOfWork:
    """Every repository writes through the same connection at once (reads see this unit's own
    writes), so requesting a generation puts the job, the ledger debit and the outbox event in
    one transaction. The connection is taken from the pool on first use and given back on exit,
    after a rollback of whatever was not committed. After `commit()` or `rollback()` the unit can
    be used again: the next statement opens a new transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._connection: Connection | None = None
        self._autocommit = False
        self.jobs = SqlJobs(self)
        self.albums = SqlAlbums(self)
        self.favorites = SqlFavorites(self)
        self.accounts = SqlAccounts(self)
        self.idempotency = SqlIdempotency(self)
        self.outbox = SqlOutbox(self)
        self.audit = SqlAudit(self)
        self.rate_limits = SqlRateLimitLog(self)
        self.uploads = SqlUploads(self)
        self.queue = SqlQueue(self)
        self.webhooks = SqlWebhooks(self)
        self.service_keys = SqlServiceKeys(self)
        self.presets = SqlPresets(self)
        self.account_data = SqlAccountData(self)
        self._parts: tuple[SqlRepository, ...] = (
            self.jobs,
            self.albums,
            self.favorites,
            self.accounts,
            self.idempotency,
            self.outbox,
            self.audit,
            self.rate_limits,
            self.uploads,
            self.queue,
            self.service_keys,
            self.presets,
        )

    def connection(self) -> Connection:
        if self._connection is None:
            with translated():
                connection = self.engine.connect()
                if self._autocommit and not connection.in_transaction():
                    try:
                        connection.execution_options(isolation_level="AUTOCOMMIT")
                    except Exception:  # the driver would not: the reads run in a transaction instead
                        connection.rollback()
                self._connection = connection
        return self._connection

    def reads_only(self) -> None:
        """PostgreSQL: the connection runs in autocommit, so a read is one round trip (no BEGIN,
        no closing ROLLBACK); the pool restores its isolation when it is given back. SQLite
        reads in process: nothing to save there."""
        if self._connection is None and self.dialect == "postgresql":
            self._autocommit = True

    def execute(
        self,
        statement: sa.Executable,
        params: Any = None,
        on_unique: Callable[[], ApplicationError] | None = None,
    ) -> CursorResult[*tuple[Any, ...]]:
        connection = self.connection()
        with translated(on_unique):
            return connection.execute(statement, params)

    def __enter__(self) -> SqlUnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def commit(self) -> None:
        try:
            if self._connection is not None:
                with translated():
                    self._connection.commit()
                self.rate_limits.after_commit()  # its own short transaction, never raises
        finally:
            self._forget()

    def rollback(self) -> None:
        try:
            if self._connection is not None:
                with translated():
                    self._connection.rollback()
        finally:
            self._forget()

    def close(self) -> None:
        """Roll back what was not committed and give the connection back to the pool."""
        connection, self._connection = self._connection, None
        self._forget()
        if connection is not None:
            try:
                connection.close()  # rolls back an open transaction
            except sa.exc.DBAPIError:
                pass  # a dead connection: the pool drops it, and nothing was committed on it

    def _forget(self) -> None:
        for part in self._parts:
            part.reset()


class SqlDatabase:
    """A UnitOfWorkFactory over one engine: `SqlDatabase(engine).unit_of_work` is what
    `Dependencies.uow_factory` takes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
