"""Rate-limit logs in the `rate_limit_logs` table, shared by every API replica.

Each key has one row holding its sliding log: the times of its accepted hits still inside the
window (a JSON list, at most `limit` of them). The decision is application/limits.py's; only
where the log lives is decided here. Hit times come from each replica's clock, so replicas
should keep theirs in sync (NTP), as for everything else."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from nexus_image.adapters.sqlalchemy.base import SqlRepository
from nexus_image.adapters.sqlalchemy.tables import rate_limit_logs

SWEEP_EVERY = 500  # logs kept (per process) between deletions of other keys' idle rows
SWEEP_SLACK = 1.0  # seconds: `expires_at` is rounded to microseconds; sweep only what is surely idle
LOCK_ATTEMPTS = 3  # a key's row swept away between taking and locking it is taken again

_kept = itertools.count(1)


def _instant(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class SqlRateLimitLog(SqlRepository):
    """Reading a key's log holds its row until the unit of work ends, so concurrent requests of
    one user on several replicas queue on it and cannot both take the last slot. PostgreSQL: the
    row is made if missing (`INSERT ... ON CONFLICT DO NOTHING`), then read with `SELECT ... FOR
    UPDATE`. SQLite: that INSERT, being a write, takes the database's write lock first, so no
    other connection reads the log until this transaction ends. One row per key (not one per
    hit) because a row lock needs a row that exists whether or not the key has hits, and the log
    is small (at most `limit` times)."""

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
        if next(_kept) % SWEEP_EVERY == 0:
            self._sweep(hits[-1])

    def _sweep(self, now: float) -> None:
        """Forget the rows of keys that went quiet (every hit out of the window). PostgreSQL
        skips rows another request holds, so a sweep never waits on (or deadlocks with) a hit."""
        idle = rate_limit_logs.c.expires_at < _instant(now - SWEEP_SLACK)
        if self.postgres:
            chosen = sa.select(rate_limit_logs.c.key).where(idle).with_for_update(skip_locked=True)
            self.execute(
                sa.delete(rate_limit_logs).where(rate_limit_logs.c.key.in_(chosen.scalar_subquery()))
            )
        else:
            self.execute(sa.delete(rate_limit_logs).where(idle))
