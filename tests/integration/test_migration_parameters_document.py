"""Migration 0008 carries every job of a database filled by the previous head (0007, one
column per field) into the one parameters document, on SQLite and PostgreSQL, and the
downgrade spreads it back: the domain reads the same parameters before and after."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nexus_image.adapters.sqlalchemy import create_engine_for, downgrade, head_revision, migrate, sqlite_url
from nexus_image.adapters.sqlalchemy.mappers import job_from_row
from nexus_image.adapters.sqlalchemy.tables import jobs
from nexus_image.domain.parameters import GenerationParameters, LoraWeight, Scheduler
from nexus_image.domain.resolution import Resolution
from nexus_image.domain.styles import Style

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# What 0007 stored, column by column, and what the domain must read from it.
ROWS: list[tuple[dict[str, Any], GenerationParameters]] = [
    (
        {
            "id": "plain",
            "prompt": "a fox",
            "negative_prompt": "",
            "style": "realistic",
            "resolution": "512x512",
            "seed": 42,
            "steps": 30,
            "guidance": 7.0,
            "scheduler": "dpmpp_2m_karras",
            "variation_seed": None,
            "variation_strength": 0.0,
            "init_image_id": None,
            "mask_image_id": None,
            "strength": None,
            "loras": None,
        },
        GenerationParameters(
            prompt="a fox",
            negative_prompt="",
            style=Style.REALISTIC,
            resolution=Resolution.SQUARE_512,
            seed=42,
            steps=30,
            guidance=7.0,
            scheduler=Scheduler.DPMPP_2M_KARRAS,
        ),
    ),
    (
        {
            "id": "varied",
            "prompt": "a heron, dawn",
            "negative_prompt": "blurry",
            "style": "anime",
            "resolution": "1024x1536",
            "seed": 4294967295,
            "steps": 12,
            "guidance": 7.123456789012345,
            "scheduler": "euler_a",
            "variation_seed": 7,
            "variation_strength": 0.12345678901234568,
            "init_image_id": None,
            "mask_image_id": None,
            "strength": None,
            "loras": None,
        },
        GenerationParameters(
            prompt="a heron, dawn",
            negative_prompt="blurry",
            style=Style.ANIME,
            resolution=Resolution.PORTRAIT_1024,
            seed=4294967295,
            steps=12,
            guidance=7.123456789012345,
            scheduler=Scheduler.EULER_ANCESTRAL,
            variation_seed=7,
            variation_strength=0.12345678901234568,
        ),
    ),
    (
        {
            "id": "inpaint",
            "prompt": "a door",
            "negative_prompt": "",
            "style": "3d",
            "resolution": "768x768",
            "seed": 1,
            "steps": 25,
            "guidance": 7.5,
            "scheduler": "ddim",
            "variation_seed": None,
            "variation_strength": 0.0,
            "init_image_id": "up-1",
            "mask_image_id": "up-2",
            "strength": 0.6,
            "loras": [{"name": "grain", "weight": 0.8}, {"name": "ink", "weight": 1.0}],
        },
        GenerationParameters(
            prompt="a door",
            negative_prompt="",
            style=Style.THREE_D,
            resolution=Resolution.SQUARE_768,
            seed=1,
            steps=25,
            guidance=7.5,
            scheduler=Scheduler.DDIM,
            init_image_id="up-1",
            mask_image_id="up-2",
            strength=0.6,
            loras=(LoraWeight("grain", 0.8), LoraWeight("ink", 1.0)),
        ),
    ),
]


def fill_at_0007(engine: Engine) -> None:
    """Rows as the previous head wrote them (its own columns, its own JSON for `loras`)."""
    assert migrate(engine, "0007") == "0007"
    old = sa.Table("jobs", sa.MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        for columns, _ in ROWS:
            connection.execute(
                old.insert().values(
                    **columns,
                    user_id="alice",
                    tokens_cost=5,
                    status="COMPLETED",
                    is_public=False,
                    created_at=NOW,
                    attempts=1,
                    version=1,
                )
            )


def read(engine: Engine) -> dict[str, GenerationParameters]:
    with engine.connect() as connection:
        return {
            row["id"]: job_from_row(row).parameters for row in connection.execute(sa.select(jobs)).mappings()
        }


def check_upgrade_and_back(engine: Engine) -> None:
    fill_at_0007(engine)
    assert migrate(engine) == head_revision()
    assert read(engine) == {columns["id"]: expected for columns, expected in ROWS}
    with engine.connect() as connection:  # the column the monitoring views group by, filled
        assert dict(connection.execute(sa.select(jobs.c.id, jobs.c.resolution)).all()) == {
            columns["id"]: columns["resolution"] for columns, _ in ROWS
        }
    assert downgrade(engine, "0007") == "0007"
    old = sa.Table("jobs", sa.MetaData(), autoload_with=engine)
    with engine.connect() as connection:
        spread = {row["id"]: row for row in connection.execute(sa.select(old)).mappings()}
    for columns, _ in ROWS:
        for name in (
            "prompt",
            "style",
            "seed",
            "steps",
            "guidance",
            "scheduler",
            "strength",
            "mask_image_id",
        ):
            assert spread[columns["id"]][name] == columns[name], (columns["id"], name)
    assert migrate(engine) == head_revision()
    assert read(engine) == {columns["id"]: expected for columns, expected in ROWS}


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(sqlite_url(tmp_path / "old.db"))
    yield engine
    engine.dispose()


def test_a_sqlite_database_of_the_previous_head_keeps_its_parameters(sqlite_engine: Engine) -> None:
    check_upgrade_and_back(sqlite_engine)


def test_a_postgres_database_of_the_previous_head_keeps_its_parameters(empty_postgres_url: str) -> None:
    engine = create_engine_for(empty_postgres_url)
    try:
        check_upgrade_and_back(engine)
    finally:
        engine.dispose()
