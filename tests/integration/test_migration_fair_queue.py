"""Migration 0009 on a database filled by the previous head (0008), on SQLite and PostgreSQL:
queued jobs wait for the dispatcher (their users in the default tier's rotation) and are
dispatched in turn; EXPIRED is a status the table accepts; the downgrade turns EXPIRED jobs
into CANCELLED ones (both refunded) and the upgrade works again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nexus_image.adapters.sqlalchemy import (
    SqlDatabase,
    create_engine_for,
    downgrade,
    head_revision,
    migrate,
    sqlite_url,
)
from nexus_image.application.dispatch import DispatchJobs
from nexus_image.domain.job import JobStatus
from nexus_image.testing import ManualClock, SequentialIds

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
DOCUMENT = (
    '{"prompt": "a fox", "negative_prompt": "", "style": "realistic", "resolution": "512x512", "seed": 1,'
    ' "steps": 2, "guidance": 7.0, "dispatcher": "euler", "variation_seed": null, "variation_strength": 0.0,'
    ' "init_image_id": null, "mask_image_id": null, "strength": null, "loras": []}'
)


def fill_at_0008(engine: Engine) -> None:
    assert migrate(engine, "0008") == "0008"
    old = sa.Table("jobs", sa.MetaData(), autoload_with=engine)
    accounts = sa.Table("token_accounts", sa.MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        connection.execute(accounts.insert().values(user_id="alice", balance=90, version=1))
        for index, (job_id, user, status) in enumerate(
            [
                ("q1", "alice", "QUEUED"),
                ("q2", "bob", "QUEUED"),
                ("q3", "alice", "QUEUED"),
                ("done", "alice", "COMPLETED"),
            ]
        ):
            connection.execute(
                old.insert().values(
                    id=job_id,
                    user_id=user,
                    parameters=sa.func.json(DOCUMENT)
                    if engine.dialect.name == "sqlite"
                    else sa.cast(DOCUMENT, old.c.parameters.type),
                    resolution="512x512",
                    tokens_cost=5,
                    status=status,
                    is_public=False,
                    created_at=NOW + timedelta(seconds=index),
                    attempts=0,
                    version=1,
                )
            )


def check(engine: Engine) -> None:
    fill_at_0008(engine)
    assert migrate(engine) == head_revision()
    factory = SqlDatabase(engine).unit_of_work
    with factory() as uow:
        assert {u.user_id for u in uow.queue.rotation("standard", 10)} == {"alice", "bob"}
        job = uow.jobs.get("q1")
        assert job is not None and (job.tier, job.dispatched_at, job.deadline_at) == ("standard", None, None)
        account = uow.accounts.get("alice")
        assert account is not None and (account.balance, account.tier) == (90, None)
    clock = ManualClock(NOW + timedelta(minutes=1))
    dispatcher = DispatchJobs(factory, clock, SequentialIds("m"))
    assert dispatcher.execute(room=3) == 3
    with factory() as uow:
        order = [j.id for j in uow.queue.dispatched(10)]
        assert sorted(order) == ["q1", "q2", "q3"]
        expiring = uow.jobs.get("q3")
        assert expiring is not None
        expiring.expire(NOW + timedelta(minutes=2))
        uow.jobs.save(expiring)
        uow.commit()
    assert downgrade(engine, "0008") == "0008"
    with engine.connect() as connection:
        statuses: dict[str, str] = dict(connection.execute(sa.text("SELECT id, status FROM jobs")).all())
        assert statuses["q3"] == JobStatus.CANCELLED.value  # refunded either way
        with pytest.raises(sa.exc.IntegrityError):
            connection.execute(sa.text("UPDATE jobs SET status = 'EXPIRED' WHERE id = 'q1'"))
    assert migrate(engine) == head_revision()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(sqlite_url(tmp_path / "old.db"))
    yield engine
    engine.dispose()


def test_a_sqlite_database_of_the_previous_head_moves_to_the_fair_queue(sqlite_engine: Engine) -> None:
    check(sqlite_engine)


def test_a_postgres_database_of_the_previous_head_moves_to_the_fair_queue(empty_postgres_url: str) -> None:
    engine = create_engine_for(empty_postgres_url)
    try:
        check(engine)
    finally:
        engine.dispose()
