"""One dispatcher at a time on PostgreSQL: a session advisory lock on a connection of its own.

The lock lives as long as that session: a dispatcher that dies (even SIGKILLed) closes its
socket, the server ends the session and the lock is free at once for a standby, which tries
again every second or so. TCP keepalives bound how long a dispatcher cut off by the network
holds it (about 10 s). The holder checks its session before each round: once the session is
gone it is not the dispatcher any more, and tries to become it again like everyone else."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection

from nexus_image.adapters.sqlalchemy.engine import normalize_url

log = logging.getLogger(__name__)

LOCK_KEY = 0x6E78_5F73_6368  # "nx_sch": the dispatcher's advisory lock, in each database
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 2}


class PostgresLeadership:
    def __init__(self, url: str | URL, key: int = LOCK_KEY) -> None:
        self._engine = sa.create_engine(
            normalize_url(url), poolclass=sa.pool.NullPool, connect_args={**KEEPALIVES, "connect_timeout": 5}
        )
        self._key = key
        self._connection: Connection | None = None
        self._held = False

    def hold(self) -> bool:
        try:
            if self._connection is None:
                self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if self._held:
                self._connection.execute(sa.text("SELECT 1"))  # the session (and its lock) lives
            else:
                self._held = bool(
                    self._connection.execute(
                        sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
                    ).scalar_one()
                )
        except Exception as error:  # the server or the network: not the dispatcher until it answers
            if self._held:
                log.warning("dispatcher lock lost: %s", error)
            self._drop()
        return self._held

    def _drop(self) -> None:
        self._held = False
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()
                connection.close()
            except Exception as error:  # already broken: nothing more to release
                log.debug("closing the dispatcher lock's connection: %s", error)

    def release(self) -> None:
        self._drop()  # ending the session frees the lock
        self._engine.dispose()

    def __repr__(self) -> str:
        return f"PostgresLeadership(held={self._held})"
