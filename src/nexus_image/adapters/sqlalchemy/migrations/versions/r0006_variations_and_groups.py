"""Variations (a second seed and how far its noise is blended in) and image groups (the images
of one request for several, linked by one id).

Images made before this version have no variation (strength 0) and no group.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _identifier(length: int = 64) -> sa.types.TypeEngine[str]:
    """As the tables' ids: byte-wise ("C") collation on PostgreSQL."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("variation_seed", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("variation_strength", sa.Float(), nullable=False, server_default=sa.text("0"))
        )
        batch.add_column(sa.Column("group_id", _identifier(), nullable=True))
    op.create_index(
        "ix_jobs_group",
        "jobs",
        ["group_id"],
        postgresql_where=sa.text("group_id IS NOT NULL"),
        sqlite_where=sa.text("group_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_group", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("group_id")
        batch.drop_column("variation_strength")
        batch.drop_column("variation_seed")
