"""Alembic environment: uses the connection handed over by `migrate()`, or else the URL from
alembic.ini / NEXUS_IMAGE_DATABASE_URL. SQLite gets batch mode (it cannot ALTER most things)."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from nexus_image.adapters.sqlalchemy.engine import create_engine_for
from nexus_image.adapters.sqlalchemy.search import described_in_code
from nexus_image.adapters.sqlalchemy.tables import metadata

config = context.config


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("NEXUS_IMAGE_DATABASE_URL")
    if not url:
        raise RuntimeError("set NEXUS_IMAGE_DATABASE_URL (or sqlalchemy.url) to migrate")
    return url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=described_in_code,  # not the FTS5 tables of search (migration 0015)
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (handed := config.attributes.get("connection")) is not None:
    _run(handed)
else:
    engine = create_engine_for(_url())
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()
