"""Job leases, and an index for recent generation times (queue estimates).

A running job is held under `lease_expires_at`, renewed by its worker while it generates;
recovery re-queues a job whose lease expired (instead of one started long ago).

Jobs PROCESSING at upgrade time get an expired lease: the worker that took them ran the
previous version, which never renews, so they are handed back at the first recovery pass.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PROCESSING = "status = 'PROCESSING'"
COMPLETED = "status = 'COMPLETED'"


def upgrade() -> None:
    op.add_column("jobs", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(f"UPDATE jobs SET lease_expires_at = started_at WHERE {PROCESSING}")
    op.drop_index("ix_jobs_processing_started", table_name="jobs")
    op.create_index(
        "ix_jobs_processing_lease",
        "jobs",
        ["lease_expires_at"],
        postgresql_where=sa.text(PROCESSING),
        sqlite_where=sa.text(PROCESSING),
    )
    # recent generation times, for the queue's time estimates
    op.create_index(
        "ix_jobs_completed",
        "jobs",
        ["completed_at", "id"],
        postgresql_where=sa.text(COMPLETED),
        sqlite_where=sa.text(COMPLETED),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_completed", table_name="jobs")
    op.drop_index("ix_jobs_processing_lease", table_name="jobs")
    op.create_index(
        "ix_jobs_processing_started",
        "jobs",
        ["started_at"],
        postgresql_where=sa.text(PROCESSING),
        sqlite_where=sa.text(PROCESSING),
    )
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("lease_expires_at")
