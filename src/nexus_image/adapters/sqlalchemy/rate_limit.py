"""Per-key rate limiting shared by every API replica, in the `rate_limits` table.

Each key has one row per fixed window (`window_start`, `hits`); the limiter weighs the previous
window's hits like the in-process SlidingWindowLimiter does, with the same arithmetic."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from nexus_image.adapters.sqlalchemy.engine import translated
from nexus_image.adapters.sqlalchemy.tables import rate_limits
from nexus_image.application.errors import ApplicationError
from nexus_image.application.limits import refusal

SWEEP_EVERY = 500  # hits between deletions of other keys' expired windows


class SqlRateLimiter:
    """The hit is counted with an upsert that locks the key's current row until the end of the
    transaction, so concurrent requests of one user on several replicas queue on it and cannot
    both take the last slot. A refused hit is rolled back: it does not count."""

    def __init__(
        self, engine: Engine, limit: int, window: float = 60.0, now: Callable[[], float] = time.time
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and a positive window")
        self.engine = engine
        self.limit = limit
        self.window = window
        self.now = now
        self._hits = 0

    def _start(self, index: int) -> datetime:
        return datetime.fromtimestamp(index * self.window, UTC)

    def _count(self, connection: Connection, key: str, start: datetime) -> int:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(rate_limits)
            .values(key=key, window_start=start, hits=1)
            .on_conflict_do_update(
                index_elements=[rate_limits.c.key, rate_limits.c.window_start],
                set_={"hits": rate_limits.c.hits + 1},
            )
            .returning(rate_limits.c.hits)
        )
        return int(connection.execute(statement).scalar_one())

    def hit(self, key: str) -> float | None:
        """Count one hit for `key`; None when allowed, else the seconds to wait."""
        moment = self.now()
        index = int(moment // self.window)
        elapsed = moment - index * self.window
        current_start, previous_start = self._start(index), self._start(index - 1)
        with translated(), self.engine.connect() as connection:
            current = self._count(connection, key, current_start) - 1
            previous = connection.execute(
                sa.select(rate_limits.c.hits).where(
                    rate_limits.c.key == key, rate_limits.c.window_start == previous_start
                )
            ).scalar_one_or_none()
            wait = refusal(self.limit, self.window, elapsed, current, previous or 0)
            if wait is not None:
                connection.rollback()
                return wait
            connection.execute(
                sa.delete(rate_limits).where(
                    rate_limits.c.key == key, rate_limits.c.window_start < previous_start
                )
            )
            connection.commit()
        self._hits += 1
        if self._hits % SWEEP_EVERY == 0:
            self._sweep(previous_start)
        return None

    def _sweep(self, before: datetime) -> None:
        """Forget windows of keys that went quiet. Best effort, in its own transaction: replicas
        sweeping at once may collide, and the next sweep does the work then."""
        try:
            with translated(), self.engine.begin() as connection:
                connection.execute(sa.delete(rate_limits).where(rate_limits.c.window_start < before))
        except ApplicationError:
            pass
