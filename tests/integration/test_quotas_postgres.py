"""Quotas on PostgreSQL: concurrent requests of one user cannot pass their daily quota between
them (the count is read under the account's row lock, in the transaction that charges), and the
refund policy's proportional refunds reach the ledger."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from nexus_image.adapters.sqlalchemy.tables import jobs, token_ledger
from nexus_image.application.dto import GenerateImage
from nexus_image.domain.quota import QuotaExceeded
from nexus_image.entrypoints.composition import compose
from nexus_image.entrypoints.settings import Settings
from tests.api.conftest import SECRET

pytestmark = pytest.mark.integration

TIERS = '{"free": {"max_queued": 100, "images_per_day": 10}}'


def test_twenty_concurrent_requests_against_a_daily_quota_of_ten_accept_exactly_ten(
    clean_postgres: Engine, postgres_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=postgres_url, jwt_secret=SecretStr(SECRET), embedded_worker=False,
        welcome_tokens=1000, tiers=TIERS, cancel_refund="proportional",
    )  # fmt: skip
    app = compose("api", settings)
    requests = app.container.request_generation()
    start = threading.Barrier(20)

    def one(n: int) -> str:
        start.wait()
        try:
            requests.execute(GenerateImage("alice", f"a fox number {n}", steps=2))
        except QuotaExceeded as refused:
            return f"refused at {refused.state.limit}"
        return "accepted"

    try:
        with ThreadPoolExecutor(20) as pool:
            outcomes = list(pool.map(one, range(20)))
        assert outcomes.count("accepted") == 10 and outcomes.count("refused at 10") == 10
        with clean_postgres.connect() as connection:
            made = connection.execute(sa.select(sa.func.count()).select_from(jobs)).scalar_one()
            debits = connection.execute(
                sa.select(sa.func.count()).where(token_ledger.c.kind == "DEBIT")
            ).scalar_one()
        assert made == debits == 10  # no charge without a job, no job without a charge

        # a running job cancelled half way gives back the steps not run, rounded up
        with clean_postgres.connect() as connection:
            job_id = connection.execute(sa.select(jobs.c.id).limit(1)).scalar_one()
            connection.execute(
                sa.update(jobs)
                .where(jobs.c.id == job_id)
                .values(status="PROCESSING", steps_done=3, steps_total=4, worker_id="w")
            )
            connection.commit()
        cost = requests.cost(requests.parameters(GenerateImage("alice", "x", steps=2)))
        cancelled = app.container.cancel_generation().cancel("alice", job_id)
        assert cancelled.refunded == -(-cost // 4) and cancelled.view.status.value == "CANCELLED"
        with clean_postgres.connect() as connection:
            reason = connection.execute(
                sa.select(token_ledger.c.reason).where(
                    token_ledger.c.job_id == job_id, token_ledger.c.kind == "REFUND"
                )
            ).scalar_one()
        assert "1 of 4 steps not run" in reason
    finally:
        app.close()
