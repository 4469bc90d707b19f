"""The fair queue: on each job its owner's tier, its deadline and its dispatch to the workers; on
each account the tier an operator set (NULL: the one the token names);
a new terminal status, EXPIRED; the rotations of users (`queue_users`), the queue's named values
(`queue_state`) and the workers' seats (`queue_workers`).

Jobs QUEUED at the upgrade wait for the dispatcher (their users join the `standard` tier's
rotation); a message already sent for one of them is skipped by the worker that reads it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OLD_CHECK = "status IN ('QUEUED', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED')"
NEW_CHECK = "status IN ('QUEUED', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED', 'EXPIRED')"
OLD_STATUSES = "('QUEUED'), ('PROCESSING'), ('COMPLETED'), ('FAILED'), ('CANCELLED')"
NEW_STATUSES = OLD_STATUSES + ", ('EXPIRED')"
INDEXES = [
    ("ix_jobs_queued_user", ["user_id", "created_at", "id"], "status = 'QUEUED'"),
    ("ix_jobs_dispatched", ["dispatched_at"], "status = 'QUEUED' AND dispatched_at IS NOT NULL"),
    ("ix_jobs_deadline", ["deadline_at"], "status = 'QUEUED' AND deadline_at IS NOT NULL"),
]


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _moment() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _check(old: str, new: str) -> None:
    """Widen (or narrow) the status check. SQLite keeps a table's CHECK only in its CREATE
    statement: rewritten in place (no row changes, and every row satisfies both), as SQLite's
    documentation describes for constraint changes, bumping the schema version."""
    if _postgres():
        op.drop_constraint("ck_jobs_status", "jobs", type_="check")
        op.create_check_constraint("ck_jobs_status", "jobs", sa.text(new))
        return
    bind = op.get_bind()
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.execute(
        sa.text(
            "UPDATE sqlite_master SET sql = replace(sql, :old, :new) WHERE type = 'table' AND name = 'jobs'"
        ),
        {"old": old, "new": new},
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


STATUS_VIEW = """
CREATE OR REPLACE VIEW monitoring_jobs_by_status AS
SELECT s.status,
       count(j.id) AS jobs,
       coalesce(sum(j.tokens_cost), 0) AS tokens,
       min(j.created_at) AS oldest_created_at,
       max(j.created_at) AS newest_created_at
FROM (VALUES {statuses}) AS s (status)
LEFT JOIN jobs AS j ON j.status = s.status
GROUP BY s.status
"""


def _status_view(statuses: str) -> None:
    """PostgreSQL's monitoring view of jobs by status (0002) lists every status."""
    if _postgres():
        op.execute(STATUS_VIEW.format(statuses=statuses))


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("tier", sa.String(32), nullable=False, server_default="standard"))
        batch.add_column(sa.Column("deadline_at", _moment(), nullable=True))
        batch.add_column(sa.Column("dispatched_at", _moment(), nullable=True))
        batch.add_column(sa.Column("dispatched_to", sa.String(255), nullable=True))
    _check(OLD_CHECK, NEW_CHECK)
    with op.batch_alter_table("token_accounts") as batch:
        batch.add_column(sa.Column("tier", sa.String(32), nullable=True))
    for name, columns, where in INDEXES:
        op.create_index(name, "jobs", columns, postgresql_where=sa.text(where), sqlite_where=sa.text(where))
    op.create_table(
        "queue_users",
        sa.Column(
            "user_id",
            sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("served_at", _moment(), nullable=False),
        sa.Column("waiting", sa.Boolean(), nullable=False),
        sa.Column("mark", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_queue_users"),
    )
    op.create_index(
        "ix_queue_users_rotation",
        "queue_users",
        ["tier", "served_at", "user_id"],
        postgresql_where=sa.text("waiting"),
        sqlite_where=sa.text("waiting = 1"),
    )
    op.create_table(
        "queue_state",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("changed_at", _moment(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_queue_state"),
    )
    op.create_table(
        "queue_workers",
        sa.Column("worker_id", sa.String(255), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("partitions", sa.Text(), nullable=True),
        sa.Column("seen_at", _moment(), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name="pk_queue_workers"),
    )
    # never served: the epoch, as each engine stores an instant (SQLite: naive UTC text)
    never, waiting = (
        ("TIMESTAMPTZ '1970-01-01 00:00:00+00'", "true")
        if _postgres()
        else ("'1970-01-01 00:00:00.000000'", "1")
    )
    op.execute(
        "INSERT INTO queue_users (user_id, tier, served_at, waiting, mark) "
        f"SELECT DISTINCT user_id, 'standard', {never}, {waiting}, 1 FROM jobs WHERE status = 'QUEUED'"
    )
    _status_view(NEW_STATUSES)


def downgrade() -> None:
    # EXPIRED jobs were refunded and never started: the closest earlier status is CANCELLED.
    op.execute("UPDATE jobs SET status = 'CANCELLED' WHERE status = 'EXPIRED'")
    _status_view(OLD_STATUSES)
    op.drop_table("queue_workers")
    op.drop_table("queue_state")
    op.drop_index("ix_queue_users_rotation", table_name="queue_users")
    op.drop_table("queue_users")
    for name, _columns, _where in INDEXES:
        op.drop_index(name, table_name="jobs")
    _check(NEW_CHECK, OLD_CHECK)
    with op.batch_alter_table("token_accounts") as batch:
        batch.drop_column("tier")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("dispatched_to")
        batch.drop_column("dispatched_at")
        batch.drop_column("deadline_at")
        batch.drop_column("tier")
