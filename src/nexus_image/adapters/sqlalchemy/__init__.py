"""SQL persistence with SQLAlchemy 2 Core: PostgreSQL (psycopg 3) in production, SQLite embedded.

`SqlDatabase(create_engine_for(url)).unit_of_work` is a UnitOfWorkFactory; `migrate(url)`
brings the schema to the latest revision."""

from nexus_image.adapters.sqlalchemy.engine import create_engine_for, database_url, redacted, sqlite_url
from nexus_image.adapters.sqlalchemy.notify import OutboxListener
from nexus_image.adapters.sqlalchemy.schema import current_revision, downgrade, head_revision, migrate
from nexus_image.adapters.sqlalchemy.tables import metadata
from nexus_image.adapters.sqlalchemy.uow import SqlDatabase, SqlUnitOfWork

__all__ = [
    "OutboxListener",
    "SqlDatabase",
    "SqlUnitOfWork",
    "create_engine_for",
    "current_revision",
    "database_url",
    "downgrade",
    "head_revision",
    "metadata",
    "migrate",
    "redacted",
    "sqlite_url",
]
