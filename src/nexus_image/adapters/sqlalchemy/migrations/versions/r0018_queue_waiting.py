"""The number of waiting images per user and model, kept by the database: `queue_waiting`
(user, model, jobs; model '' for jobs that name none), filled from the waiting jobs and kept in
step by triggers on `jobs` (insert, delete, and an update that moves a job into or out of
"QUEUED and not dispatched", or to another user or model). A queued job's place in the fair
order and the queue gauges read these counts, one row per waiting user and model, instead of
counting every waiting job (aggregates that grew with the queue's depth).

The triggers fire only when a job's waiting state changes, so most writes to `jobs` (progress,
leases, finishing) cost nothing more. A later migration that rebuilds `jobs` on SQLite (batch
mode's copy of the table) drops these triggers with the old table: it must create them again.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

WAITING = "{row}.status = 'QUEUED' AND {row}.dispatched_at IS NULL"
CHANGED = (
    f"({WAITING.format(row='old')}) IS DISTINCT FROM ({WAITING.format(row='new')}) "
    "OR old.user_id IS DISTINCT FROM new.user_id OR old.model IS DISTINCT FROM new.model"
)
ADD = (
    "INSERT INTO queue_waiting (user_id, model, jobs) VALUES (new.user_id, coalesce(new.model, ''), 1) "
    "ON CONFLICT (user_id, model) DO UPDATE SET jobs = queue_waiting.jobs + 1"
)
TAKE = (
    "UPDATE queue_waiting SET jobs = jobs - 1 WHERE user_id = old.user_id AND model = coalesce(old.model, '')"
)
FUNCTION = f"""
CREATE FUNCTION nexus_queue_waiting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF {WAITING.format(row="old")} THEN
            {TAKE};
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF {WAITING.format(row="new")} THEN
            {ADD};
        END IF;
    END IF;
    RETURN NULL;
END
$$"""
TRIGGERS = ("insert", "delete", "update")


def _sqlite_triggers() -> list[str]:
    changed = CHANGED.replace("IS DISTINCT FROM", "IS NOT")
    old, new = WAITING.format(row="old"), WAITING.format(row="new")
    return [
        f"CREATE TRIGGER jobs_queue_waiting_insert AFTER INSERT ON jobs WHEN {new} BEGIN {ADD}; END",
        f"CREATE TRIGGER jobs_queue_waiting_delete AFTER DELETE ON jobs WHEN {old} BEGIN {TAKE}; END",
        "CREATE TRIGGER jobs_queue_waiting_update AFTER UPDATE OF status, dispatched_at, user_id, model "
        f"ON jobs WHEN {changed} BEGIN "
        f"UPDATE queue_waiting SET jobs = jobs - 1 WHERE ({old}) AND user_id = old.user_id "
        "AND model = coalesce(old.model, ''); "
        f"INSERT INTO queue_waiting (user_id, model, jobs) SELECT new.user_id, coalesce(new.model, ''), 1 "
        f"WHERE {new} ON CONFLICT (user_id, model) DO UPDATE SET jobs = queue_waiting.jobs + 1; END",
    ]


def upgrade() -> None:
    user = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")
    op.create_table(
        "queue_waiting",
        sa.Column("user_id", user, primary_key=True),
        sa.Column("model", sa.String(64), primary_key=True),
        sa.Column("jobs", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_queue_waiting_some",
        "queue_waiting",
        ["user_id"],
        postgresql_where=sa.text("jobs > 0"),
        sqlite_where=sa.text("jobs > 0"),
    )
    op.execute(
        "INSERT INTO queue_waiting (user_id, model, jobs) SELECT user_id, coalesce(model, ''), count(*) "
        f"FROM jobs WHERE {WAITING.format(row='jobs')} GROUP BY user_id, coalesce(model, '')"
    )
    if _pg():
        op.execute(FUNCTION)
        op.execute(
            "CREATE TRIGGER jobs_queue_waiting_insert AFTER INSERT ON jobs FOR EACH ROW "
            f"WHEN ({WAITING.format(row='new')}) EXECUTE FUNCTION nexus_queue_waiting()"
        )
        op.execute(
            "CREATE TRIGGER jobs_queue_waiting_delete AFTER DELETE ON jobs FOR EACH ROW "
            f"WHEN ({WAITING.format(row='old')}) EXECUTE FUNCTION nexus_queue_waiting()"
        )
        op.execute(
            "CREATE TRIGGER jobs_queue_waiting_update AFTER UPDATE OF status, dispatched_at, user_id, model "
            f"ON jobs FOR EACH ROW WHEN ({CHANGED}) EXECUTE FUNCTION nexus_queue_waiting()"
        )
        return
    for trigger in _sqlite_triggers():
        op.execute(trigger)


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS jobs_queue_waiting_{name}" + (" ON jobs" if _pg() else ""))
    if _pg():
        op.execute("DROP FUNCTION IF EXISTS nexus_queue_waiting()")
    op.drop_index("ix_queue_waiting_some", table_name="queue_waiting")
    op.drop_table("queue_waiting")


def _pg() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")
