"""The same property-based run as tests/api/test_schemathesis.py, on PostgreSQL wired as in
production (the SQL unit of work, the SQL rate limiter, the audit table): whatever the fuzzer
sends — NUL characters, deep JSON, wrong types, odd ids — no server error, every status
documented, every body matching its schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import given
from litestar import Litestar
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from nexus_image.entrypoints.composition import compose, http_app
from nexus_image.entrypoints.settings import Settings
from tests.api.conftest import SECRET, bearer
from tests.api.test_schemathesis import CHECKS, fuzzing

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 10


@pytest.fixture(scope="module")
def pg_app(
    postgres_url: str, postgres_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Litestar]:
    config = Settings(
        data_dir=Path(tmp_path_factory.mktemp("fuzz-pg")),
        database_url=postgres_url,
        jwt_secret=SecretStr(SECRET),
        embedded_worker=False,
        rate_limit_per_minute=100_000,
        welcome_tokens=10**9,
        openai_wait_seconds=1,  # no worker runs: an OpenAI-style request waits this long, then 504
    )
    application = compose("api", config)
    try:
        yield http_app(application)
    finally:
        application.close()


def test_the_api_on_postgres_keeps_its_documented_promises(pg_app: Litestar) -> None:
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", pg_app).exclude(path="/api/v1/events")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 20  # every documented operation, not a few

    for operation in operations:

        @given(case=operation.as_strategy())
        @fuzzing(EXAMPLES_PER_OPERATION)
        def keeps_its_promises(case: Any) -> None:
            case.call_and_validate(headers=bearer("fuzzer"), checks=CHECKS)

        keeps_its_promises()
