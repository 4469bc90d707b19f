"""Accounts and operators: the bytes each image takes (`jobs.stored_bytes`), how far its worker
got (`steps_done` of `steps_total`: a proportional refund on cancel), an operator's decision on
a flagged image (`safety_review`), suspended accounts, and the indexes of quotas (a user's
charges in a period, refunds by job) and of the flagged images' review.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("stored_bytes", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("steps_done", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("steps_total", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("safety_review", sa.String(16), nullable=True))
    with op.batch_alter_table("token_accounts") as batch:
        batch.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("suspended_reason", sa.String(512), nullable=True))
    op.create_index(
        "ix_token_accounts_suspended",
        "token_accounts",
        ["user_id"],
        postgresql_where=sa.text("suspended_at IS NOT NULL"),
        sqlite_where=sa.text("suspended_at IS NOT NULL"),
    )
    op.create_index("ix_token_ledger_user_at", "token_ledger", ["user_id", "at"])
    op.create_index(
        "ix_token_ledger_job",
        "token_ledger",
        ["job_id"],
        postgresql_where=sa.text("job_id IS NOT NULL"),
        sqlite_where=sa.text("job_id IS NOT NULL"),
    )
    op.create_index(
        "ix_jobs_flagged",
        "jobs",
        ["completed_at", "id"],
        postgresql_where=sa.text("safety_flagged AND status = 'COMPLETED'"),
        sqlite_where=sa.text("safety_flagged = 1 AND status = 'COMPLETED'"),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_flagged", table_name="jobs")
    op.drop_index("ix_token_ledger_job", table_name="token_ledger")
    op.drop_index("ix_token_ledger_user_at", table_name="token_ledger")
    op.drop_index("ix_token_accounts_suspended", table_name="token_accounts")
    with op.batch_alter_table("token_accounts") as batch:
        batch.drop_column("suspended_reason")
        batch.drop_column("suspended_at")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("safety_review")
        batch.drop_column("steps_total")
        batch.drop_column("steps_done")
        batch.drop_column("stored_bytes")
