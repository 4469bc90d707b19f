"""Several images per request on PostgreSQL, under concurrency: requests racing for one
user's balance are each charged whole or refused whole (never part of a group)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from nexus_image.adapters.sqlalchemy.tables import jobs
from nexus_image.application.dto import GenerateImage
from nexus_image.domain.errors import InsufficientTokens
from nexus_image.entrypoints.composition import compose
from nexus_image.entrypoints.settings import Settings

pytestmark = pytest.mark.integration


def test_racing_requests_for_four_images_are_charged_whole_or_not_at_all(
    clean_postgres: Engine, postgres_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=postgres_url, jwt_secret=SecretStr("s" * 48), welcome_tokens=0
    )
    app = compose("cli", settings)
    try:
        service = app.service
        service.tokens.grant("ann", 50)
        outcomes: list[Any] = []
        start = threading.Barrier(6)

        def ask(n: int) -> None:
            start.wait(30)
            try:
                command = GenerateImage(user_id="ann", prompt=f"a fox {n}", num_images=4)
                views, _ = service.request.submit(command)
                outcomes.append({v.group_id for v in views})
            except InsufficientTokens as error:
                outcomes.append(error.required)

        threads = [threading.Thread(target=ask, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        groups = [o for o in outcomes if isinstance(o, set)]
        assert len(outcomes) == 6 and len(groups) == 2 and outcomes.count(20) == 4
        assert service.tokens.balance("ann").balance == 10
        with clean_postgres.connect() as connection:
            rows = connection.execute(sa.select(jobs.c.group_id, sa.func.count()).group_by(jobs.c.group_id))
            assert sorted(count for _, count in rows) == [4, 4]
    finally:
        app.close()
