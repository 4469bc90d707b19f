"""PostgreSQL for the tests (a pytest plugin, loaded from tests/conftest.py).

The server on 127.0.0.1:5432 (trust auth, user postgres) when one answers; otherwise a
throwaway cluster made with initdb/pg_ctl (as the `postgres` user when running as root), on a
free port, deleted at the end. Neither possible: the fixture FAILS, integration tests never skip.
Every test run works in its own, uniquely named database, created here and dropped at the end.
`NEXUS_IMAGE_TEST_POSTGRES=throwaway` forces the throwaway cluster (to test this very path)."""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nexus_image.adapters.sqlalchemy import create_engine_for, metadata, migrate

DEFAULT_PORT = 5432


def _answers(port: int) -> bool:
    try:
        psycopg.connect(
            host="127.0.0.1", port=port, user="postgres", dbname="postgres", connect_timeout=3
        ).close()
        return True
    except psycopg.Error:
        return False


def _binary(name: str) -> str | None:
    """The newest installed PostgreSQL's `name` (Debian keeps them in /usr/lib/postgresql/N/bin)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ThrowawayCluster:
    def __init__(self, initdb: str) -> None:
        self.bin = Path(initdb).parent
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="nexus-pg-"))
        self.data = self.dir / "data"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.as_postgres, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(args[:2])} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.dir / "server.log")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        subprocess.run(
            [*self.as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A libpq URL of a server where user `postgres` may create databases."""
    forced = os.environ.get("NEXUS_IMAGE_TEST_POSTGRES") == "throwaway"
    if not forced and _answers(DEFAULT_PORT):
        yield f"postgresql://postgres@127.0.0.1:{DEFAULT_PORT}"
        return
    initdb = _binary("initdb")
    if initdb is None:
        pytest.fail(
            "no PostgreSQL answers on 127.0.0.1:5432 and no initdb is installed: "
            "run scripts/test.sh (it installs Debian's postgresql) or `apt-get install postgresql`"
        )
    cluster = ThrowawayCluster(initdb)
    cluster.start()
    try:
        yield f"postgresql://postgres@127.0.0.1:{cluster.port}"
    finally:
        cluster.stop()


def create_database(server: str) -> str:
    """A new empty database; returns its SQLAlchemy URL."""
    name = f"nexus_test_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{server.replace('postgresql://', 'postgresql+psycopg://')}/{name}"


def drop_database(server: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url(postgres_server: str) -> Iterator[str]:
    """This run's own database, migrated to head; dropped at the end of the run."""
    url = create_database(postgres_server)
    try:
        migrate(url)
        yield url
    finally:
        drop_database(postgres_server, url)


@pytest.fixture
def empty_postgres_url(postgres_server: str) -> Iterator[str]:
    """A database of its own with nothing in it, for tests of the migrations themselves."""
    url = create_database(postgres_server)
    try:
        yield url
    finally:
        drop_database(postgres_server, url)


@pytest.fixture(scope="session")
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_engine_for(postgres_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def clean_postgres(postgres_engine: Engine) -> Engine:
    """The run's database with every table emptied (and sequences reset) before the test."""
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with postgres_engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return postgres_engine
