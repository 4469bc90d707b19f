"""Migration 0018 on SQLite and PostgreSQL: the per-user counts of waiting images are filled
from the jobs already there, kept by triggers from then on, and removed by the downgrade."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from nexus_image.adapters.sqlalchemy import SqlDatabase, create_engine_for, downgrade, migrate, sqlite_url
from nexus_image.adapters.sqlalchemy.mappers import job_values
from nexus_image.adapters.sqlalchemy.tables import jobs
from nexus_image.domain import GenerationParameters, JobStatus
from tests.support.builders import T0, make_job

pytestmark = pytest.mark.integration
ANIME = GenerationParameters.create(prompt="a fox", seed=1, model="anime")


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    url = (
        sqlite_url(tmp_path / "waiting.db")
        if request.param == "sqlite"
        else request.getfixturevalue("empty_postgres_url")
    )
    made = create_engine_for(url)
    yield made
    made.dispose()


def counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT user_id || '/' || model, jobs FROM queue_waiting WHERE jobs > 0"
        )
        return dict(rows.all())


def test_counts_are_filled_on_upgrade_kept_by_triggers_and_dropped_on_downgrade(engine: sa.Engine) -> None:
    migrate(engine, "0017")
    present = {column["name"] for column in sa.inspect(engine).get_columns("jobs")}
    started = make_job("a3", "alice", timedelta(seconds=3), status=JobStatus.PROCESSING)
    existing = [
        make_job("a1", "alice"),
        make_job("a2", "alice", timedelta(seconds=1), parameters=ANIME),
        make_job("b1", "bob", timedelta(seconds=2), dispatched_at=T0),  # handed out: not waiting
        started,
    ]
    with engine.begin() as connection:
        for job in existing:
            values = {k: v for k, v in {**job_values(job), "version": 0}.items() if k in present}
            connection.execute(sa.insert(jobs).values(**values))
    migrate(engine)
    assert counts(engine) == {"alice/": 1, "alice/anime": 1}

    with SqlDatabase(engine).unit_of_work() as uow:
        uow.jobs.add(make_job("c1", "carol", timedelta(seconds=4)))
        bob = uow.jobs.get("b1")
        assert bob is not None
        bob.undispatch()
        uow.jobs.save(bob)
        uow.jobs.delete("a1")
        uow.commit()
    assert counts(engine) == {"alice/anime": 1, "bob/": 1, "carol/": 1}

    downgrade(engine, "0017")
    assert "queue_waiting" not in sa.inspect(engine).get_table_names()
    with engine.begin() as connection:  # no trigger is left behind to write to a missing table
        connection.execute(sa.update(jobs).where(jobs.c.id == "a2").values(dispatched_at=T0))
    migrate(engine)
    assert counts(engine) == {"bob/": 1, "carol/": 1}
