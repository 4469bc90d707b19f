"""Retention per tier: removed image data.

`jobs.data_removed_at`: when retention removed a job's files (the row stays, as a tombstone the
ledger and the audit log still name); NULL for every job at the upgrade. Two partial indexes:
the images still kept, by tier and age (what each tier's retention scan reads), and the rows
marked removed whose objects are still to be deleted.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

KEPT = "data_removed_at IS NULL"
REMOVING = "data_removed_at IS NOT NULL AND (image_key IS NOT NULL OR thumbnail_key IS NOT NULL)"


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("data_removed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_jobs_retention",
        "jobs",
        ["tier", "created_at", "id"],
        postgresql_where=sa.text(KEPT),
        sqlite_where=sa.text(KEPT),
    )
    op.create_index(
        "ix_jobs_removing",
        "jobs",
        ["data_removed_at", "id"],
        postgresql_where=sa.text(REMOVING),
        sqlite_where=sa.text(REMOVING),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_removing", table_name="jobs")
    op.drop_index("ix_jobs_retention", table_name="jobs")
    # not a batch: on SQLite a batch rebuilds `jobs`, which would drop the search triggers of
    # 0015 (SQLite drops a column in place since 3.35)
    op.drop_column("jobs", "data_removed_at")
