"""Rate-limit logs in the `rate_limit_logs` table, shared by every API replica.

Each key has one row holding its sliding log: the times of its accepted hits still inside the
window (a JSON list, at most `limit` of them). The decision is application/limits.py's; only
where the log lives is decided here. Hit times come from each replica's clock, so replicas
should keep theirs in sync (NTP), as for everything else."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from nexus_image.adapters.sqlalchemy.base import SqlRepository
from nexus_image.adapters.sqlalchemy.tables import rate_limit_logs

if TYPE_CHECKING:
    from nexus_image.adapters.sqlalchemy.uow import SqlUnitOfWork

SWEEP_INTERVAL = 60.0  # seconds (per process) between deletions of other keys' idle rows
SWEEP_BATCH = 500  # rows one sweep deletes at most: its transaction stays short
SWEEP_SLACK = 1.0  # seconds: `expires_at` is rounded to microseconds; sweep only what is surely idle
LOCK_ATTEMPTS = 3  # a key's row swept away between taking and locking it is taken again

log = logging.getLogger(__name__)


def _instant(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class SweepSchedule:
    """When this process may sweep next: at most once every `interval` seconds of its own
    monotonic clock, whichever unit of work (or thread) asks."""

    def __init__(self, interval: float, now: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.now = now
        self._next = float("-inf")
        self._lock = threading.Lock()

    def due(self) -> bool:
        """Whether a sweep may run now; True books it (the next one is `interval` away)."""
        with self._lock:
            moment = self.now()
            if moment < self._next:
                return False
            self._next = moment + self.interval
            return True


_schedule = SweepSchedule(SWEEP_INTERVAL)


class SqlRateLimitLog(SqlRepository):
    """Reading a key's log holds its row until the unit of work ends, so concurrent requests of
    one user on several replicas queue on it and cannot both take the last slot. PostgreSQL: the
    row is made if missing (`INSERT ... ON CONFLICT DO NOTHING`), then read with `SELECT ... FOR
    UPDATE`. SQLite: that INSERT, being a write, takes the database's write lock first, so no
    other connection reads the log until this transaction ends. One row per key (not one per
    hit) because a row lock needs a row that exists whether or not the key has hits, and the log
    is small (at most `limit` times).

    Rows of keys that went quiet are swept after the unit that kept a log commits, in a short
    transaction of their own (see `after_commit`), never inside the request's."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        super().__init__(uow)
        self._kept_at: float | None = None  # the latest hit kept in this transaction

    def hits(self, key: str, now: float) -> list[float]:
        dialect = postgresql if self.postgres else sqlite
        create = (
            dialect.insert(rate_limit_logs)
            .values(key=key, hits="[]", expires_at=_instant(now))
            .on_conflict_do_nothing(index_elements=[rate_limit_logs.c.key])
        )
        statement = sa.select(rate_limit_logs.c.hits).where(rate_limit_logs.c.key == key)
        if self.postgres:
            statement = statement.with_for_update()
        for _ in range(LOCK_ATTEMPTS):
            self.execute(create)
            stored = self.execute(statement).scalar_one_or_none()
            if stored is not None:
                return sorted(float(t) for t in json.loads(stored))
        raise RuntimeError(f"the rate limit row of {key!r} keeps vanishing")  # pragma: no cover

    def keep(self, key: str, hits: list[float], expires_at: float) -> None:
        mine = rate_limit_logs.c.key == key
        if not hits:
            self.execute(sa.delete(rate_limit_logs).where(mine))
            return
        values = {"hits": json.dumps(sorted(hits)), "expires_at": _instant(expires_at)}
        self.execute(sa.update(rate_limit_logs).where(mine).values(**values))
        self._kept_at = hits[-1] if self._kept_at is None else max(self._kept_at, hits[-1])

    def reset(self) -> None:
        super().reset()
        self._kept_at = None

    def after_commit(self) -> None:
        """Called by the unit of work once its transaction is committed: when this process is
        due a sweep (at most every SWEEP_INTERVAL seconds), forget up to SWEEP_BATCH idle rows
        in a transaction of its own on the same connection. A failed sweep is logged and
        forgotten: what the request committed stands, and a later sweep takes the rows."""
        now, self._kept_at = self._kept_at, None
        if now is None or not _schedule.due():
            return
        try:
            self._sweep(now)
            self.uow.connection().commit()
        except Exception:
            log.warning("rate limit sweep failed; idle rows stay until the next one", exc_info=True)
            try:
                self.uow.connection().rollback()
            except Exception:  # a dead connection: closing the unit gives it back to the pool
                log.debug("rollback after a failed rate limit sweep failed too", exc_info=True)

    def _sweep(self, now: float) -> None:
        """Forget the rows of keys that went quiet (every hit out of the window), at most
        SWEEP_BATCH of them. PostgreSQL skips rows another request holds, so a sweep never
        waits on (or deadlocks with) a hit."""
        idle = rate_limit_logs.c.expires_at < _instant(now - SWEEP_SLACK)
        chosen = sa.select(rate_limit_logs.c.key).where(idle).limit(SWEEP_BATCH)
        if self.postgres:
            chosen = chosen.with_for_update(skip_locked=True)
        self.execute(sa.delete(rate_limit_logs).where(rate_limit_logs.c.key.in_(chosen.scalar_subquery())))
