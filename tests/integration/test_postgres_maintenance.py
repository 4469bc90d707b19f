"""The PostgreSQL maintenance objects on seeded data: cleanup_failed_images() and the views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nexus_image.adapters.sqlalchemy import SqlDatabase
from nexus_image.adapters.sqlalchemy.tables import favorites
from nexus_image.domain import (
    Album,
    EntryKind,
    GenerationRequested,
    JobStatus,
    LedgerEntry,
    Resolution,
    TokenAccount,
)
from tests.support.builders import make_job

pytestmark = pytest.mark.integration


class Ago:
    """Times relative to one "now", taken when the test seeds (the views use the server's now())."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self, **delta: float) -> datetime:
        return self.now - timedelta(**delta)


def rows(engine: Engine, query: str) -> list[dict[str, object]]:
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(sa.text(query)).mappings()]


def seed_jobs(engine: Engine) -> None:
    ago = Ago()
    failed, done = JobStatus.FAILED, JobStatus.COMPLETED
    jobs = [
        make_job("failed-old", status=failed, created_at=ago(days=2), completed_at=ago(days=2)),
        make_job("failed-young", status=failed, created_at=ago(hours=2), completed_at=ago(hours=1)),
        make_job("done-old", status=done, created_at=ago(days=3), completed_at=ago(days=3)),
        make_job("queued", created_at=ago(seconds=120)),
        make_job(
            "running", status=JobStatus.PROCESSING, created_at=ago(seconds=90), started_at=ago(seconds=60)
        ),
    ]
    for n, seconds in enumerate((10, 20, 30, 40)):  # 512x512, completed in the last hour
        jobs.append(
            make_job(
                f"fast-{n}",
                status=done,
                created_at=ago(minutes=50),
                started_at=ago(minutes=30),
                completed_at=ago(minutes=30) + timedelta(seconds=seconds),
            )
        )
    big = make_job(
        "big",
        status=done,
        resolution=Resolution.SQUARE_1024,
        created_at=ago(minutes=20),
        started_at=ago(minutes=10),
        completed_at=ago(minutes=10) + timedelta(seconds=100),
    )
    stale = make_job(
        "stale", status=done, created_at=ago(hours=3), started_at=ago(hours=3), completed_at=ago(hours=2)
    )
    with SqlDatabase(engine).unit_of_work() as uow:
        for job in [*jobs, big, stale]:
            uow.jobs.add(job)
        uow.albums.add(Album("album", "alice", "mixed", ago.now, ["failed-old", "done-old"]))
        uow.favorites.add("bob", "failed-old", ago.now)
        uow.favorites.add("bob", "done-old", ago.now)
        uow.outbox.add(
            GenerationRequested(event_id="e1", job_id="queued", user_id="alice", occurred_at=ago(seconds=30))
        )
        uow.commit()


def test_cleanup_failed_images_deletes_old_failures_and_their_links(clean_postgres: Engine) -> None:
    seed_jobs(clean_postgres)
    with clean_postgres.begin() as connection:
        assert connection.execute(sa.text("SELECT cleanup_failed_images()")).scalar_one() == 1
    with SqlDatabase(clean_postgres).unit_of_work() as uow:
        assert uow.jobs.get("failed-old") is None and uow.jobs.get("failed-young") is not None
        album = uow.albums.get("album")
        assert album is not None and album.image_ids == ["done-old"] and album.version == 1
    with clean_postgres.connect() as connection:  # the rows themselves (the port lists only visible ones)
        kept = connection.execute(
            sa.select(favorites.c.image_id).where(favorites.c.user_id == "bob")
        ).scalars()
        assert list(kept) == ["done-old"]
    with clean_postgres.begin() as connection:
        assert connection.execute(sa.text("SELECT cleanup_failed_images()")).scalar_one() == 0
        assert (
            connection.execute(sa.text("SELECT cleanup_failed_images(interval '30 minutes')")).scalar_one()
            == 1
        )


def test_monitoring_views_report_the_seeded_numbers(clean_postgres: Engine) -> None:
    seed_jobs(clean_postgres)
    by_status = {r["status"]: r for r in rows(clean_postgres, "SELECT * FROM monitoring_jobs_by_status")}
    assert {s: r["jobs"] for s, r in by_status.items()} == {
        "QUEUED": 1,
        "PROCESSING": 1,
        "COMPLETED": 7,
        "FAILED": 2,
        "CANCELLED": 0,
        "EXPIRED": 0,
    }
    assert by_status["FAILED"]["tokens"] == 10 and by_status["CANCELLED"]["oldest_created_at"] is None

    timing = {
        r["resolution"]: r for r in rows(clean_postgres, "SELECT * FROM monitoring_generation_time_last_hour")
    }
    assert timing["512x512"]["completed"] == 4 and timing["1024x1024"]["completed"] == 1
    assert timing["512x512"]["p50_seconds"] == pytest.approx(25.0)
    assert timing["512x512"]["mean_seconds"] == pytest.approx(25.0)
    assert timing["all"]["completed"] == 5 and timing["all"]["p50_seconds"] == pytest.approx(30.0)
    assert timing["all"]["max_seconds"] == pytest.approx(100.0)
    assert timing["all"]["p95_seconds"] == pytest.approx(88.0)  # 40 + 0.8 * (100 - 40)

    queue = rows(clean_postgres, "SELECT * FROM monitoring_queue_age")[0]
    assert queue["queued_jobs"] == 1 and queue["processing_jobs"] == 1 and queue["outbox_pending"] == 1
    assert 119 <= queue["oldest_queued_seconds"] < 180  # type: ignore[operator]
    assert 59 <= queue["longest_processing_seconds"] < 120  # type: ignore[operator]
    assert 29 <= queue["oldest_outbox_seconds"] < 90  # type: ignore[operator]


def test_token_consumption_per_day(clean_postgres: Engine) -> None:
    day1, day2 = datetime(2026, 3, 1, 23, 30, tzinfo=UTC), datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
    entries = [
        (EntryKind.GRANT, 100, "alice", day1),
        (EntryKind.DEBIT, -5, "alice", day1),
        (EntryKind.DEBIT, -10, "alice", day1),
        (EntryKind.REFUND, 5, "alice", day1),
        (EntryKind.GRANT, 50, "bob", day1),
        (EntryKind.DEBIT, -20, "bob", day2),
    ]
    with SqlDatabase(clean_postgres).unit_of_work() as uow:
        for user in ("alice", "bob"):
            account = TokenAccount(user)
            account.new_entries = [LedgerEntry(u, k, a, "seed", at) for k, a, u, at in entries if u == user]
            account.balance = sum(e.amount for e in account.new_entries)
            uow.accounts.add(account)
        uow.commit()
    daily = rows(clean_postgres, "SELECT * FROM monitoring_token_consumption_daily ORDER BY day")
    assert [
        (
            str(r["day"]),
            r["debited"],
            r["refunded"],
            r["consumed"],
            r["granted"],
            r["generations"],
            r["paying_users"],
        )
        for r in daily
    ] == [("2026-03-01", 15, 5, 10, 150, 2, 1), ("2026-03-02", 20, 0, 20, 0, 1, 1)]
