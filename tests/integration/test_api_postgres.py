"""The HTTP API on PostgreSQL, wired exactly as in production (NEXUS_IMAGE_DATABASE_URL): the
SQL unit of work, the shared SQL rate limiter and the audit log table."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from litestar.testing import TestClient
from psycopg import pq
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from nexus_image.adapters.sqlalchemy import engine as engine_module
from nexus_image.adapters.sqlalchemy.tables import audit_log
from nexus_image.application.limits import StoredRateLimiter
from nexus_image.entrypoints.composition import Application, compose, http_app
from nexus_image.entrypoints.settings import Settings
from nexus_image.testing import PatternGenerator
from tests.api.conftest import SECRET, bearer, worker_beside
from tests.support.driver import hand_out

pytestmark = pytest.mark.integration


class PgApi:
    def __init__(self, client: TestClient[Any], app: Application) -> None:
        self.client = client
        self.container = app.container
        self.worker = worker_beside(app, PatternGenerator())

    def call(self, method: str, path: str, user: str = "alice", **kwargs: Any) -> Any:
        return self.client.request(method, f"/api/v1{path}", headers=bearer(user), **kwargs)

    def run_jobs(self) -> None:
        hand_out(self.worker)
        queue = self.container.job_queue()
        while deliveries := queue.receive(8, 0):
            for delivery in deliveries:
                self.worker.process(delivery.job_id)
                queue.acknowledge(delivery)


@pytest.fixture
def pg(clean_postgres: Engine, postgres_url: str, tmp_path: Path) -> Iterator[PgApi]:
    settings = Settings(
        data_dir=tmp_path, database_url=postgres_url, jwt_secret=SecretStr(SECRET), embedded_worker=False,
        welcome_tokens=100, rate_limit_per_minute=4,
    )  # fmt: skip
    app = compose("api", settings)
    with TestClient(http_app(app)) as client:
        yield PgApi(client, app)


def test_generate_follow_download_and_organise_on_postgres(pg: PgApi, clean_postgres: Engine) -> None:
    assert isinstance(pg.container.rate_limiter(), StoredRateLimiter)
    created = pg.call("POST", "/images/generate", json={"prompt": "a lighthouse", "steps": 3, "seed": 5})
    assert created.status_code == 201
    job = created.json()["id"]
    pg.run_jobs()
    image = pg.call("GET", f"/images/{job}").json()
    assert image["status"] == "COMPLETED" and image["completed_at"].endswith("Z")
    assert pg.call("GET", f"/images/{job}/file").content.startswith(b"\x89PNG")
    album = pg.call("POST", "/albums", json={"name": "coast"}).json()
    assert pg.call("PUT", f"/albums/{album['id']}/images/{job}").json()["image_count"] == 1
    assert pg.call("PUT", f"/images/{job}/favorite").status_code == 204
    assert pg.call("GET", "/images/favorites").json()["total"] == 1
    assert pg.call("GET", "/images/user/me").json()["total"] == 1
    assert pg.call("GET", "/tokens/balance").json()["balance"] == 95
    for method, path in (
        ("GET", f"/images/{job}"),
        ("DELETE", f"/images/{job}"),
        ("GET", f"/albums/{album['id']}"),
    ):
        assert pg.call(method, path, user="mallory").status_code == 404
    assert pg.call("DELETE", f"/images/{job}").status_code == 204
    with clean_postgres.connect() as connection:
        audited = connection.execute(
            sa.select(audit_log.c.actor, audit_log.c.action, audit_log.c.outcome).order_by(audit_log.c.id)
        ).all()
    assert ("alice", "image.generate", "success") in audited
    assert ("mallory", "image.delete", "failed:not_found") in audited
    assert audited[-1] == ("alice", "image.delete", "success")
    assert pg.client.get("/ready").json()["checks"]["database"] == "ok"


def test_the_rate_limit_is_counted_in_the_database(pg: PgApi, clean_postgres: Engine) -> None:
    statuses = [pg.call("POST", "/images/generate", json={"prompt": "a fox"}).status_code for _ in range(5)]
    assert statuses == [201, 201, 201, 201, 429]
    with clean_postgres.connect() as connection:
        logged = connection.execute(sa.text("SELECT key, hits FROM rate_limit_logs")).all()
    assert [(key, len(json.loads(hits))) for key, hits in logged] == [("generate:alice", 4)]


WRITTEN = (
    "rate_limit_logs",
    "jobs",
    "token_accounts",
    "token_ledger",
    "idempotency_keys",
    "outbox",
    "audit_log",
)


def test_a_generate_request_is_one_transaction_on_postgres(pg: PgApi) -> None:
    """Every table a POST writes (rate-limit log, job, account, ledger, idempotency key, outbox,
    audit) is written in one PostgreSQL transaction, seen from the app's own engine."""
    engine = pg.container.database().__self__.engine
    counter = itertools.count(1)
    touched: dict[int, set[str]] = {}

    def begun(connection: Any) -> None:
        connection.info["transaction"] = next(counter)

    def statement(connection: Any, cursor: Any, sql: str, *rest: Any) -> None:
        text = sql.lower()
        writes = {t for t in WRITTEN if f"insert into {t} " in text or f"update {t} " in text}
        if writes:
            touched.setdefault(connection.info.get("transaction", 0), set()).update(writes)

    assert pg.call("POST", "/images/generate", json={"prompt": "warm-up"}).status_code == 201
    sa.event.listen(engine, "begin", begun)
    sa.event.listen(engine, "before_cursor_execute", statement)
    try:
        created = pg.client.post(
            "/api/v1/images/generate",
            json={"prompt": "a quiet harbour"},
            headers={**bearer(), "Idempotency-Key": "k-1"},
        )
    finally:
        sa.event.remove(engine, "before_cursor_execute", statement)
        sa.event.remove(engine, "begin", begun)
    assert created.status_code == 201
    assert list(touched.values()) == [set(WRITTEN)], touched


def test_reading_an_image_is_one_round_trip_per_statement_on_postgres(pg: PgApi, tmp_path: Path) -> None:
    """A GET of a COMPLETED image is one round trip to PostgreSQL (no BEGIN, no closing
    ROLLBACK: a read-only unit runs in autocommit); of a QUEUED one, two (its place in the
    queue is the second) once the recent generation times are known. Seen in libpq's own trace
    of the connection the read used."""
    engine = pg.container.database().__self__.engine
    done = pg.call("POST", "/images/generate", json={"prompt": "a harbour"}).json()["id"]
    pg.run_jobs()
    waiting = pg.call("POST", "/images/generate", json={"prompt": "a meadow"}).json()["id"]
    sessions: list[Path] = []

    def checkout(dbapi_connection: Any, record: Any, *_: Any) -> None:
        sessions.append(tmp_path / f"trace-{len(sessions)}.txt")
        handle = sessions[-1].open("w")
        record.info["trace"] = handle
        dbapi_connection.pgconn.trace(handle.fileno())
        dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    def checkin(dbapi_connection: Any, record: Any) -> None:
        if "trace" in record.info:
            if dbapi_connection is not None:
                dbapi_connection.pgconn.untrace()
            record.info.pop("trace").close()

    def round_trips(job_id: str) -> list[str]:
        sessions.clear()
        assert pg.call("GET", f"/images/{job_id}").status_code == 200
        reads = [p.read_text() for p in sessions if "favorites" in p.read_text()]
        assert len(reads) == 1, reads
        sent = [line.split("\t") for line in reads[0].splitlines() if line.startswith("F\t")]
        return [
            fields[3] if fields[2] == "Query" else "statement"
            for fields in sent
            if fields[2] in ("Query", "Sync")
        ]

    sa.event.listen(engine, "checkout", checkout)
    sa.event.listen(engine, "checkin", checkin)
    try:
        assert round_trips(done) == ["statement"]
        round_trips(waiting)  # the first place also reads the recent generation times, kept 5 s
        assert round_trips(waiting) == ["statement", "statement"]
    finally:
        sa.event.remove(engine, "checkout", checkout)
        sa.event.remove(engine, "checkin", checkin)


def test_the_connection_pool_is_sized_by_the_setting(postgres_url: str, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=postgres_url, jwt_secret=SecretStr(SECRET), embedded_worker=False,
        database_pool_size=7,
    )  # fmt: skip
    app = compose("api", settings)
    try:
        pool = app.container.database().__self__.engine.pool
        assert (pool.size(), pool._max_overflow) == (7, 3)
    finally:
        app.close()


def test_reads_in_autocommit_follow_a_pinged_connection(
    postgres_url: str, clean_postgres: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooled connection idle long enough is pinged when handed out; the read-only unit that
    gets it still reads in autocommit (the ping leaves no transaction open)."""
    monkeypatch.setattr(engine_module, "PING_IDLE_SECONDS", 0.0)  # every hand-out pings
    settings = Settings(
        data_dir=tmp_path, database_url=postgres_url, jwt_secret=SecretStr(SECRET), embedded_worker=False,
        welcome_tokens=100,
    )  # fmt: skip
    app = compose("api", settings)
    with TestClient(http_app(app)) as client:
        created = client.post("/api/v1/images/generate", json={"prompt": "a fox"}, headers=bearer())
        assert created.status_code == 201
        for _ in range(3):
            assert client.get(f"/api/v1/images/{created.json()['id']}", headers=bearer()).status_code == 200
