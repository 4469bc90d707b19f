"""Migrations: up, down and up again on an empty PostgreSQL; the tables in code and the migrated
schema never drift apart (checked with Alembic's autogenerate comparison)."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from nexus_image.adapters.sqlalchemy import (
    create_engine_for,
    current_revision,
    downgrade,
    head_revision,
    metadata,
    migrate,
    sqlite_url,
)
from nexus_image.adapters.sqlalchemy.schema import alembic_config
from nexus_image.adapters.sqlalchemy.search import described_in_code

pytestmark = pytest.mark.integration
MAINTENANCE_VIEWS = {
    "monitoring_jobs_by_status",
    "monitoring_generation_time_last_hour",
    "monitoring_token_consumption_daily",
    "monitoring_queue_age",
}


def drift(engine: Engine, target: sa.MetaData = metadata) -> list[object]:
    with engine.connect() as connection:
        opts = {"compare_type": True, "include_name": described_in_code}  # as env.py compares
        context = MigrationContext.configure(connection, opts=opts)
        return list(compare_metadata(context, target))


def schema(engine: Engine) -> tuple[set[str], set[str], bool]:
    inspector = sa.inspect(engine)
    with engine.connect() as connection:
        function = connection.execute(
            sa.text("SELECT count(*) FROM pg_proc WHERE proname = 'cleanup_failed_images'")
        ).scalar_one()
    return set(inspector.get_table_names()), set(inspector.get_view_names()), bool(function)


def test_upgrade_downgrade_upgrade_on_an_empty_postgres(empty_postgres_url: str) -> None:
    engine = create_engine_for(empty_postgres_url)
    try:
        assert schema(engine) == (set(), set(), False)
        assert migrate(engine) == head_revision() == current_revision(engine)
        tables, views, function = schema(engine)
        assert tables == set(metadata.tables) | {"alembic_version"}
        assert views == MAINTENANCE_VIEWS and function
        assert downgrade(engine, "base") is None
        assert schema(engine) == ({"alembic_version"}, set(), False)
        assert migrate(engine) == head_revision()
        assert schema(engine)[1] == MAINTENANCE_VIEWS
        assert drift(engine) == []
    finally:
        engine.dispose()


def test_postgres_schema_matches_the_tables_in_code(postgres_engine: Engine) -> None:
    assert drift(postgres_engine) == []


def test_sqlite_schema_matches_the_tables_in_code(tmp_path: Path) -> None:
    engine = create_engine_for(sqlite_url(tmp_path / "drift.db"))
    migrate(engine)
    assert drift(engine) == []
    assert set(sa.inspect(engine).get_view_names()) == set()  # maintenance objects are PostgreSQL's
    engine.dispose()


def test_the_drift_check_sees_a_difference(postgres_engine: Engine) -> None:
    """Guard against a vacuous comparison: a column and an index more in code are noticed."""
    changed = sa.MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["albums"].append_column(sa.Column("nickname", sa.String(20)))
    sa.Index("ix_albums_nickname", changed.tables["albums"].c.nickname)
    differences = drift(postgres_engine, changed)
    assert sorted(d[0] for d in differences) == ["add_column", "add_index"]  # type: ignore[index]


def test_sqlite_starts_migrating_at_once_safely(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "race.db")
    with ThreadPoolExecutor(4) as pool:
        revisions = list(pool.map(lambda _: migrate(url), range(4)))
    assert revisions == [head_revision()] * 4


def test_alembic_command_line_config_works_from_the_package(tmp_path: Path) -> None:
    """What `alembic -c <package>/migrations/alembic.ini ...` does: its own engine, and --sql."""
    url = sqlite_url(tmp_path / "cli.db")
    command.upgrade(alembic_config(url=url), "head")
    assert current_revision(url) == head_revision()
    buffer = io.StringIO()
    config = alembic_config(url="postgresql+psycopg://nobody@nowhere/db")
    config.output_buffer = buffer
    command.upgrade(config, "head", sql=True)
    script = buffer.getvalue()
    assert "CREATE TABLE jobs" in script and "CREATE FUNCTION cleanup_failed_images" in script
