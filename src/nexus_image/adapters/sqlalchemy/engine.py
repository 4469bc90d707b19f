"""Engines with sane defaults, and the translation of database errors into application errors."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import StaticPool

from nexus_image.application.errors import (
    ApplicationError,
    ConcurrentUpdate,
    Conflict,
    DatabaseUnavailable,
)

SQLITE_BUSY_TIMEOUT_MS = 15_000
# PostgreSQL: serialization failure, deadlock, lock not available; all worth a retry.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
UNIQUE_VIOLATION = "23505"


def normalize_url(url: str | URL) -> URL:
    """`postgres://` and `postgresql://` mean psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


EMBEDDED_DATABASE = "nexus-image.db"


def sqlite_url(path: Path) -> str:
    return URL.create("sqlite", database=str(path)).render_as_string()


def database_url(configured: str | None, data_dir: Path) -> str:
    """The configured URL, or the embedded SQLite file in the data directory."""
    return configured or sqlite_url(data_dir / EMBEDDED_DATABASE)


def redacted(url: str | URL) -> str:
    return normalize_url(url).render_as_string(hide_password=True)


def create_engine_for(url: str | URL, **overrides: Any) -> Engine:
    """An engine for `url`. PostgreSQL: a pooled psycopg 3 engine whose connections are pinged
    before use when they sat idle (`ping_idle_seconds`): a busy pool costs no extra round trip
    per request, and a connection the server dropped meanwhile is replaced before it is handed
    out. SQLite: WAL (readers never block the writer), foreign keys on, and a busy timeout so
    that writers queue instead of failing at once. `overrides` go to `sqlalchemy.create_engine`
    as they are."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, overrides)
    options: dict[str, Any] = {
        "pool_size": 10,
        "max_overflow": 20,
        "pool_timeout": 30,
        "pool_recycle": 1800,
    }
    if parsed.get_backend_name() == "postgresql":
        options["connect_args"] = {"application_name": "nexus-image", "connect_timeout": 10}
    ping_idle = float(overrides.pop("ping_idle_seconds", PING_IDLE_SECONDS))
    options.update(overrides)
    engine = sa.create_engine(parsed, **options)
    if not options.get("pool_pre_ping"):
        _ping_when_idle(engine, ping_idle)
    return engine


PING_IDLE_SECONDS = 2.0


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """A connection back in the pool for more than `idle_seconds` answers a `SELECT 1` before
    it is handed out; one that does not is discarded and the pool connects afresh (a disconnect
    seen by a statement also discards every older pooled connection: SQLAlchemy's default)."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _handed_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_seconds:
            return  # fresh from connect, or just used: alive
        try:
            # In autocommit: the ping opens no transaction (a unit may want autocommit itself)
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
                dbapi_connection.autocommit = autocommit
        except Exception as error:
            raise exc.DisconnectionError(f"pooled connection is gone: {error}") from error


def _sqlite_engine(url: URL, overrides: dict[str, Any]) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if in_memory:
        options["poolclass"] = StaticPool  # one shared connection, or each would see its own DB
    else:
        Path(url.database or "").expanduser().parent.mkdir(parents=True, exist_ok=True)
    options.update(overrides)
    engine = sa.create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    return engine


def _sqlstate(error: exc.DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


def is_unique_violation(error: exc.DBAPIError) -> bool:
    text = str(error.orig)
    return _sqlstate(error) == UNIQUE_VIOLATION or text.startswith("UNIQUE constraint failed")


def is_retryable(error: exc.DBAPIError) -> bool:
    if _sqlstate(error) in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(error.orig) or "database table is locked" in str(error.orig)


@contextmanager
def translated(on_unique: Callable[[], ApplicationError] | None = None) -> Iterator[None]:
    """Database errors become application errors, here and nowhere else.

    A unique violation means the row was created by someone else meanwhile (ConcurrentUpdate,
    which use cases retry) unless `on_unique` says what it means; other integrity errors are
    Conflicts; lock timeouts, deadlocks and serialization failures are ConcurrentUpdates; a
    database that cannot be reached is DatabaseUnavailable. Programming errors stay what they are."""
    try:
        yield
    except exc.IntegrityError as error:
        if is_unique_violation(error):
            raise (on_unique() if on_unique else ConcurrentUpdate(str(error.orig))) from error
        raise Conflict(f"the change breaks a database rule: {error.orig}") from error
    except (exc.OperationalError, exc.InterfaceError, exc.InternalError) as error:
        if is_retryable(error):
            raise ConcurrentUpdate(f"concurrent transaction: {error.orig}") from error
        raise DatabaseUnavailable(f"database unavailable: {error.orig}") from error
