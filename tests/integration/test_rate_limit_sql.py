"""The shared rate limiter on the real `rate_limit_logs` table: embedded SQLite and
PostgreSQL, including concurrent requests of one user (on one replica and on two) racing for the
last slot."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nexus_image.adapters.sqlalchemy import SqlDatabase, create_engine_for, migrate, rate_limit, sqlite_url
from nexus_image.adapters.sqlalchemy.tables import rate_limit_logs
from nexus_image.application.limits import RateLimit, StoredRateLimiter
from nexus_image.application.ports import RateLimiter
from nexus_image.entrypoints.http.limits import retry_after_header

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.at, UTC)


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


def shared_limiter(engine: Engine, limit: int, window: float, now: Clock) -> StoredRateLimiter:
    """The limiter every API replica builds: the logs in the database, one transaction a hit."""
    return StoredRateLimiter(SqlDatabase(engine).unit_of_work, RateLimit(limit, window), now)


def logs(engine: Engine) -> dict[str, list[float]]:
    with engine.connect() as connection:
        found = connection.execute(sa.select(rate_limit_logs.c.key, rate_limit_logs.c.hits))
        return {key: json.loads(hits) for key, hits in found}


def expiry(engine: Engine, key: str) -> datetime:
    with engine.connect() as connection:
        found: datetime = connection.execute(
            sa.select(rate_limit_logs.c.expires_at).where(rate_limit_logs.c.key == key)
        ).scalar_one()
        return found


def test_accepted_hits_are_logged_per_key_and_refusals_are_not(engine: Engine) -> None:
    clock = Clock(6000.0)
    limiter = shared_limiter(engine, 3, 60.0, now=clock)
    assert isinstance(limiter, RateLimiter)
    for at in (6000.0, 6010.5, 6020.0):
        clock.at = at
        assert limiter.hit("generate:alice") is None
    clock.at = 6030.0
    assert limiter.hit("generate:alice") == pytest.approx(30.0)  # the hit at 6000 leaves at 6060
    assert limiter.hit("generate:bob") is None
    assert logs(engine) == {"generate:alice": [6000.0, 6010.5, 6020.0], "generate:bob": [6030.0]}
    assert expiry(engine, "generate:alice") == datetime.fromtimestamp(6080.0, UTC)
    clock.at = 6060.0  # exactly when the wait said: one slot
    assert limiter.hit("generate:alice") is None
    refused = limiter.hit("generate:alice")
    assert refused is not None and refused == pytest.approx(10.5)
    assert retry_after_header(refused) == 11
    clock.at = 6060.0 + 10.5
    assert limiter.hit("generate:alice") is None
    assert logs(engine)["generate:alice"] == [6020.0, 6060.0, 6070.5]  # old hits pruned


def test_undo_forgets_the_most_recent_accepted_hit(engine: Engine) -> None:
    clock = Clock(7000.0)
    limiter = shared_limiter(engine, 2, 60.0, now=clock)
    limiter.undo("generate:alice")  # nothing to forget
    assert logs(engine) == {}
    assert limiter.hit("generate:alice") is None
    clock.at = 7030.0
    assert limiter.hit("generate:alice") is None
    assert limiter.hit("generate:alice") == pytest.approx(30.0)
    limiter.undo("generate:alice")
    assert logs(engine) == {"generate:alice": [7000.0]}
    assert expiry(engine, "generate:alice") == datetime.fromtimestamp(7060.0, UTC)
    assert limiter.hit("generate:alice") is None
    limiter.undo("generate:alice")
    limiter.undo("generate:alice")
    assert logs(engine) == {}  # an empty log has no row


def test_idle_keys_are_swept(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rate_limit, "_schedule", rate_limit.SweepSchedule(0.0))  # after every commit
    clock = Clock(8000.0)
    limiter = shared_limiter(engine, 5, 60.0, now=clock)
    limiter.hit("generate:idle")
    clock.at = 8050.0
    limiter.hit("generate:recent")
    assert set(logs(engine)) == {"generate:idle", "generate:recent"}  # idle's hit is still inside
    clock.at = 8100.0  # this hit sweeps: idle's hit left at 8060, recent's has not
    limiter.hit("generate:busy")
    assert set(logs(engine)) == {"generate:recent", "generate:busy"}


def test_sweeps_come_at_most_once_an_interval_and_take_a_bounded_batch(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monotonic = Clock(0.0)
    monkeypatch.setattr(rate_limit, "_schedule", rate_limit.SweepSchedule(60.0, now=lambda: monotonic.at))
    monkeypatch.setattr(rate_limit, "SWEEP_BATCH", 2)
    clock = Clock(9000.0)
    limiter = shared_limiter(engine, 5, 60.0, now=clock)
    for user in ("a", "b", "c", "d", "e"):
        limiter.hit(f"generate:{user}")  # the first hit sweeps (nothing idle yet): the next in 60 s
    clock.at = 9100.0  # every one of them is idle now
    limiter.hit("generate:late")
    assert len(logs(engine)) == 6  # not due: this process swept less than 60 s ago
    monotonic.at = 60.0
    limiter.hit("generate:late")
    assert len(logs(engine)) == 4  # due: one batch of two idle rows
    monotonic.at = 120.0
    limiter.hit("generate:late")
    monotonic.at = 180.0
    limiter.hit("generate:late")
    assert set(logs(engine)) == {"generate:late"}


def test_the_sweep_runs_after_the_requests_commit_in_a_transaction_of_its_own(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rate_limit, "_schedule", rate_limit.SweepSchedule(0.0))
    clock = Clock(10_000.0)
    limiter = shared_limiter(engine, 5, 60.0, now=clock)
    limiter.hit("generate:idle")
    clock.at = 10_100.0
    transactions: list[list[str]] = [[]]

    def statement(conn: Any, cursor: Any, text: str, params: Any, context: Any, many: bool) -> None:
        transactions[-1].append(text.split()[0].upper())

    def commit(conn: Any) -> None:
        transactions[-1].append("COMMIT")
        transactions.append([])

    sa.event.listen(engine, "before_cursor_execute", statement)
    sa.event.listen(engine, "commit", commit)
    try:
        assert limiter.hit("generate:busy") is None
    finally:
        sa.event.remove(engine, "before_cursor_execute", statement)
        sa.event.remove(engine, "commit", commit)
    request, sweep = (t for t in transactions if t)
    assert "DELETE" not in request and request[-1] == "COMMIT"  # the hit, committed first
    assert sweep == ["DELETE", "COMMIT"]  # then the sweep, alone
    assert set(logs(engine)) == {"generate:busy"}


def test_a_failing_sweep_never_fails_the_request(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(rate_limit, "_schedule", rate_limit.SweepSchedule(0.0))

    def broken(self: rate_limit.SqlRateLimitLog, now: float) -> None:
        self.execute(sa.text("SELECT no_such_column FROM rate_limit_logs"))

    monkeypatch.setattr(rate_limit.SqlRateLimitLog, "_sweep", broken)
    clock = Clock(11_000.0)
    limiter = shared_limiter(engine, 2, 60.0, now=clock)
    with caplog.at_level("WARNING", logger=rate_limit.__name__):
        assert limiter.hit("generate:alice") is None
        assert limiter.hit("generate:alice") is None
    assert limiter.hit("generate:alice") == pytest.approx(60.0)  # both hits were kept
    assert logs(engine) == {"generate:alice": [11_000.0, 11_000.0]}
    assert "rate limit sweep failed" in caplog.text


def race(limiters: list[StoredRateLimiter], key: str, count: int) -> list[float | None]:
    results: list[float | None] = []
    lock, start = threading.Lock(), threading.Barrier(count)

    def hit(limiter: StoredRateLimiter) -> None:
        start.wait(30)
        outcome = limiter.hit(key)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=hit, args=(limiters[i % len(limiters)],)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == count
    return results


def test_concurrent_hits_never_exceed_the_limit(engine: Engine) -> None:
    limiter = shared_limiter(engine, 5, 60.0, now=Clock(12_000.0))
    results = race([limiter], "generate:racer", 16)
    assert sum(r is None for r in results) == 5
    assert all(r == pytest.approx(60.0) for r in results if r is not None)
    assert logs(engine) == {"generate:racer": [12_000.0] * 5}


def test_two_replicas_racing_for_the_last_slot_take_it_once(engine: Engine) -> None:
    clock = Clock(13_000.0)
    other = create_engine_for(engine.url)  # a second replica: its own pool and connections
    try:
        replicas = [shared_limiter(engine, 4, 60.0, now=clock), shared_limiter(other, 4, 60.0, now=clock)]
        for at in (13_000.0, 13_001.0, 13_002.0):
            clock.at = at
            assert replicas[int(at) % 2].hit("generate:racer") is None
        clock.at = 13_010.0
        results = race(replicas, "generate:racer", 12)
        assert sum(r is None for r in results) == 1  # the last slot, once
        assert sorted(r for r in results if r is not None) == [pytest.approx(50.0)] * 11
        assert logs(engine) == {"generate:racer": [13_000.0, 13_001.0, 13_002.0, 13_010.0]}
    finally:
        other.dispose()
