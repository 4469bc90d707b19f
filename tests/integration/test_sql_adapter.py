"""What only the SQL adapters have: surviving a restart, engines, errors and the audit table."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nexus_image.adapters.sqlalchemy import SqlDatabase, create_engine_for, migrate, sqlite_url
from nexus_image.application import DatabaseUnavailable, GenerateImage
from nexus_image.application.ports import AuditRecord
from nexus_image.entrypoints.composition import compose
from nexus_image.entrypoints.settings import Settings
from tests.support.builders import T0, make_job

pytestmark = pytest.mark.integration


def test_the_embedded_default_keeps_everything_across_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "NEXUS_IMAGE_DATABASE_URL",
        "NEXUS_IMAGE_S3_ENDPOINT",
        "NEXUS_IMAGE_KAFKA_BOOTSTRAP_SERVERS",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(data_dir=tmp_path)
    first = compose("api", settings)
    job = first.service.request_generation(
        GenerateImage(user_id="erin", prompt="a quiet harbour", client_key="k")
    )
    first.close()
    assert (tmp_path / "nexus-image.db").is_file()
    again = compose("api", settings)
    try:
        assert again.service.get_image("erin", job.id).status == "QUEUED"
        assert again.service.tokens.balance("erin").balance == settings.effective_welcome_tokens - 5
        same = again.service.request_generation(
            GenerateImage(user_id="erin", prompt="a quiet harbour", client_key="k")
        )
        assert same.id == job.id
    finally:
        again.close()


def test_an_unreachable_database_is_database_unavailable() -> None:
    db = SqlDatabase(create_engine_for("postgresql://postgres@127.0.0.1:1/nothing"))
    with db.unit_of_work() as uow, pytest.raises(DatabaseUnavailable):
        uow.jobs.get("anything")
    db.dispose()


def test_a_missing_schema_is_database_unavailable(tmp_path: Path) -> None:
    db = SqlDatabase(create_engine_for(sqlite_url(tmp_path / "empty.db")))
    with db.unit_of_work() as uow, pytest.raises(DatabaseUnavailable, match="no such table"):
        uow.jobs.get("anything")
    db.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_audit_records_are_kept(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if kind == "postgres":
        engine: Engine = request.getfixturevalue("clean_postgres")
    else:
        engine = create_engine_for(sqlite_url(tmp_path / "audit.db"))
        migrate(engine)
    with SqlDatabase(engine).unit_of_work() as uow:
        uow.audit.record(AuditRecord("alice", "image.delete", "image:j1", "denied", T0, "not the owner"))
        uow.audit.record(AuditRecord("bob", "album.create", "album:a1", "ok", T0))
        uow.commit()
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT actor, action, target, outcome, detail FROM audit_log ORDER BY id")
        )
        assert rows.all() == [
            ("alice", "image.delete", "image:j1", "denied", "not the owner"),
            ("bob", "album.create", "album:a1", "ok", ""),
        ]


def test_naive_datetimes_are_refused(tmp_path: Path) -> None:
    engine = create_engine_for(sqlite_url(tmp_path / "naive.db"))
    migrate(engine)
    with (
        SqlDatabase(engine).unit_of_work() as uow,
        pytest.raises(sa.exc.StatementError, match="naive datetime"),
    ):
        uow.jobs.add(make_job("j1", created_at=datetime(2026, 1, 1, 12, 0)))
    engine.dispose()


def test_urls_and_in_memory_sqlite() -> None:
    assert create_engine_for("postgresql://u@h/db").dialect.driver == "psycopg"
    assert create_engine_for("postgres://u@h/db").dialect.driver == "psycopg"
    engine = create_engine_for("sqlite://")  # one shared in-memory database
    migrate(engine)
    db = SqlDatabase(engine)
    with db.unit_of_work() as uow:
        uow.jobs.add(make_job("j1"))
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.jobs.get("j1") == make_job("j1")
    engine.dispose()


def test_a_pooled_connection_the_server_dropped_while_idle_is_replaced_before_use(postgres_url: str) -> None:
    import time

    import psycopg
    import sqlalchemy as sa

    from nexus_image.adapters.sqlalchemy import create_engine_for

    engine = create_engine_for(postgres_url, pool_size=1, max_overflow=0, ping_idle_seconds=0.1)
    try:
        with engine.connect() as connection:
            first = connection.execute(sa.text("select pg_backend_pid()")).scalar_one()
        admin_url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute("select pg_terminate_backend(%s)", (first,))
        time.sleep(0.3)  # idle longer than the ping threshold
        with engine.connect() as connection:  # pinged, found dead, replaced: no error here
            second = connection.execute(sa.text("select pg_backend_pid()")).scalar_one()
        assert second != first
        with engine.connect() as connection:  # just used: handed out without a ping
            assert connection.execute(sa.text("select pg_backend_pid()")).scalar_one() == second
    finally:
        engine.dispose()
