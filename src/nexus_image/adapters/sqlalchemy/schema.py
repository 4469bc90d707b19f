"""Running the Alembic migrations from the installed package (no alembic.ini needed).

`migrate(url)` is what `nexus-image db upgrade` runs, and what the embedded SQLite default runs
on every start. Concurrent starts are safe: the migration holds a PostgreSQL advisory lock or
SQLite's write lock, so the second process waits and then finds the schema up to date."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection, Engine

from nexus_image.adapters.sqlalchemy.engine import create_engine_for

MIGRATIONS = Path(__file__).with_name("migrations")
ADVISORY_LOCK = 7_346_021_001  # any constant: one key for "nexus-image schema changes"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


@contextmanager
def _locked(target: str | URL | Engine) -> Iterator[Connection]:
    engine = target if isinstance(target, Engine) else create_engine_for(target)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK})")
            elif connection.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield connection
    finally:
        if engine is not target:
            engine.dispose()


def migrate(target: str | URL | Engine, revision: str = "head") -> str | None:
    """Upgrade the database at `target` (a URL or an engine) to `revision`, in one transaction;
    returns the revision it is at afterwards."""
    with _locked(target) as connection:
        command.upgrade(alembic_config(connection), revision)
        return MigrationContext.configure(connection).get_current_revision()


def downgrade(target: str | URL | Engine, revision: str) -> str | None:
    with _locked(target) as connection:
        command.downgrade(alembic_config(connection), revision)
        return MigrationContext.configure(connection).get_current_revision()


def current_revision(target: str | URL | Engine) -> str | None:
    engine = target if isinstance(target, Engine) else create_engine_for(target)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if engine is not target:
            engine.dispose()
