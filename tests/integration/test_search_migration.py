"""Migration 0015 on SQLite (the embedded database): the search tables are filled from the jobs
already there, kept in step by triggers, and removed again by the downgrade."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from nexus_image.adapters.sqlalchemy import SqlDatabase, create_engine_for, downgrade, migrate, sqlite_url
from nexus_image.adapters.sqlalchemy.mappers import job_values
from nexus_image.adapters.sqlalchemy.search import is_search_table
from nexus_image.adapters.sqlalchemy.tables import jobs
from nexus_image.domain import GenerationParameters
from nexus_image.domain.search import SearchQuery
from tests.support.builders import make_job

pytestmark = pytest.mark.integration


def search_objects(engine: sa.Engine) -> set[str]:
    with engine.connect() as connection:
        names = connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')"
        )
        return {name for (name,) in names if is_search_table(name) or name.startswith("job_prompt_search_")}


def found(engine: sa.Engine, words: str) -> list[str]:
    with SqlDatabase(engine).unit_of_work() as uow:
        return [j.id for j in uow.jobs.search("alice", SearchQuery.parse(q=words)).items]


def test_existing_jobs_are_found_after_the_upgrade_and_the_downgrade_removes_everything(
    tmp_path: Path,
) -> None:
    engine = create_engine_for(sqlite_url(tmp_path / "search.db"))
    try:
        migrate(engine, "0014")
        present = {column["name"] for column in sa.inspect(engine).get_columns("jobs")}
        old = make_job("old", parameters=GenerationParameters.create(prompt="an old lighthouse", seed=1))
        values = {name: value for name, value in {**job_values(old), "version": 0}.items() if name in present}
        with engine.begin() as connection:
            connection.execute(sa.insert(jobs).values(**values))
        migrate(engine)
        made = search_objects(engine)
        triggers = {f"job_prompt_search_{event}" for event in ("insert", "delete", "update")}
        assert {"job_prompt_words", "job_prompt_trigrams", "job_prompt_words_data", *triggers} <= made
        assert found(engine, "lighthouses") == found(engine, "ghtho") == ["old"]
        downgrade(engine, "0014")
        assert search_objects(engine) == set()
        migrate(engine)
        assert found(engine, "lighthouse") == ["old"]
    finally:
        engine.dispose()
