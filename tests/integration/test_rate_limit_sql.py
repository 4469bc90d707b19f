"""The shared (SQL) rate limiter on the real `rate_limits` table: embedded SQLite and PostgreSQL,
including concurrent requests of one user racing for the last slots."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nexus_image.adapters.sqlalchemy import create_engine_for, migrate, sqlite_url
from nexus_image.adapters.sqlalchemy.rate_limit import SqlRateLimiter
from nexus_image.adapters.sqlalchemy.tables import rate_limits

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        created = create_engine_for(sqlite_url(tmp_path / "limits.db"))
        migrate(created)
        yield created
        created.dispose()
    else:
        postgres: Engine = request.getfixturevalue("clean_postgres")
        yield postgres


def rows(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as connection:
        found = connection.execute(
            sa.select(rate_limits.c.key, rate_limits.c.hits).order_by(rate_limits.c.window_start)
        )
        return [(key, hits) for key, hits in found]


def test_hits_are_counted_per_key_and_refusals_are_not(engine: Engine) -> None:
    clock = Clock(6000.0)
    limiter = SqlRateLimiter(engine, 3, 60.0, now=clock)
    assert [limiter.hit("generate:alice") for _ in range(3)] == [None, None, None]
    assert limiter.hit("generate:alice") == pytest.approx(80.0)
    assert limiter.hit("generate:bob") is None
    assert sorted(rows(engine)) == [("generate:alice", 3), ("generate:bob", 1)]
    clock.at += 80.0  # the previous window now weighs 3 * 2/3 = 2
    assert limiter.hit("generate:alice") is None
    assert limiter.hit("generate:alice") == pytest.approx(20.0)
    clock.at += 200.0  # old windows of the key are deleted as it moves on
    assert limiter.hit("generate:alice") is None
    assert [hits for key, hits in rows(engine) if key == "generate:alice"] == [1]


def test_concurrent_hits_never_exceed_the_limit(engine: Engine) -> None:
    limiter = SqlRateLimiter(engine, 5, 60.0, now=Clock(12_000.0))
    results: list[float | None] = []
    lock = threading.Lock()

    def hit() -> None:
        outcome = limiter.hit("generate:racer")
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=hit) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 16
    assert sum(r is None for r in results) == 5
    assert rows(engine) == [("generate:racer", 5)]
