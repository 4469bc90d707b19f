"""Per-key rate limiting shared by every API replica, in the `rate_limit_logs` table.

Each key has one row holding its sliding log: the times of its accepted hits still inside the
window (a JSON list, at most `limit` of them). The decision is the in-process limiter's, with the
same arithmetic (application/limits.py); only where the log lives differs. Hit times come from
each replica's clock, so replicas should keep theirs in sync (NTP), as for everything else."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from nexus_image.adapters.sqlalchemy.engine import translated
from nexus_image.adapters.sqlalchemy.tables import rate_limit_logs
from nexus_image.application.errors import ApplicationError
from nexus_image.application.limits import admit, forget_latest, validate

SWEEP_EVERY = 500  # accepted hits between deletions of other keys' idle rows
SWEEP_SLACK = 1.0  # seconds: `expires_at` is rounded to microseconds; sweep only what is surely idle
LOCK_ATTEMPTS = 3  # a key's row swept away between taking and locking it is taken again


def _instant(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class SqlRateLimiter:
    """The read-decide-write of a hit holds the key's row locked, so concurrent requests of one
    user on several replicas queue on it and cannot both take the last slot. PostgreSQL: the row
    is made if missing (`INSERT ... ON CONFLICT DO NOTHING`), then read with `SELECT ... FOR
    UPDATE`. SQLite: that INSERT, being a write, takes the database's write lock first, so no
    other connection reads the log until this transaction ends. A refused hit is rolled back:
    it does not count. One row per key (not one per hit) because a row lock needs a row that
    exists whether or not the key has hits, and the log is small (at most `limit` times)."""

    def __init__(
        self, engine: Engine, limit: int, window: float = 60.0, now: Callable[[], float] = time.time
    ) -> None:
        validate(limit, window)
        self.engine = engine
        self.limit = limit
        self.window = window
        self.now = now
        self._hits = 0

    def _postgres(self, connection: Connection) -> bool:
        return connection.dialect.name == "postgresql"

    def _locked_log(self, connection: Connection, key: str, moment: float) -> list[float]:
        """The key's log, its row created when missing and locked until the transaction ends."""
        dialect = postgresql if self._postgres(connection) else sqlite
        create = (
            dialect.insert(rate_limit_logs)
            .values(key=key, hits="[]", expires_at=_instant(moment))
            .on_conflict_do_nothing(index_elements=[rate_limit_logs.c.key])
        )
        for _ in range(LOCK_ATTEMPTS):
            connection.execute(create)
            found = self._read(connection, key)
            if found is not None:
                return found
        raise RuntimeError(f"the rate limit row of {key!r} keeps vanishing")  # pragma: no cover

    def _read(self, connection: Connection, key: str) -> list[float] | None:
        statement = sa.select(rate_limit_logs.c.hits).where(rate_limit_logs.c.key == key)
        if self._postgres(connection):
            statement = statement.with_for_update()
        stored = connection.execute(statement).scalar_one_or_none()
        return None if stored is None else sorted(float(t) for t in json.loads(stored))

    def _store(self, connection: Connection, key: str, log: list[float]) -> None:
        mine = rate_limit_logs.c.key == key
        if not log:
            connection.execute(sa.delete(rate_limit_logs).where(mine))
            return
        values = {"hits": json.dumps(log), "expires_at": _instant(log[-1] + self.window)}
        connection.execute(sa.update(rate_limit_logs).where(mine).values(**values))

    def hit(self, key: str) -> float | None:
        """Count one hit for `key`; None when allowed, else the seconds to wait."""
        moment = self.now()
        with translated(), self.engine.connect() as connection:
            log, wait = admit(self._locked_log(connection, key, moment), moment, self.limit, self.window)
            if wait is not None:
                connection.rollback()
                return wait
            self._store(connection, key, log)
            connection.commit()
        self._hits += 1
        if self._hits % SWEEP_EVERY == 0:
            self._sweep(moment)
        return None

    def undo(self, key: str) -> None:
        """Forget the most recent accepted hit of `key` (nothing when it has none)."""
        with translated(), self.engine.connect() as connection:
            if not self._postgres(connection):  # the write lock first, as in `hit`
                mine = rate_limit_logs.c.key == key
                connection.execute(sa.update(rate_limit_logs).where(mine).values(key=key))
            log = self._read(connection, key)
            if log is None:
                connection.rollback()
                return
            self._store(connection, key, forget_latest(log))
            connection.commit()

    def _sweep(self, moment: float) -> None:
        """Forget the rows of keys that went quiet (every hit out of the window). Best effort, in
        its own transaction: replicas sweeping at once may collide, and the next sweep does the
        work then. A row locked by a hit meanwhile is judged again once that hit commits."""
        try:
            with translated(), self.engine.begin() as connection:
                idle = rate_limit_logs.c.expires_at < _instant(moment - SWEEP_SLACK)
                connection.execute(sa.delete(rate_limit_logs).where(idle))
        except ApplicationError:
            pass
