"""The output check's findings per image: flagged, score, labels and which checker.

NULL in every column means "not checked" (images made before this version, or a deployment
without a checker); such images keep their visibility.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("safety_flagged", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("safety_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("safety_labels", sa.String(512), nullable=True))
        batch.add_column(sa.Column("safety_checker", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("safety_checker")
        batch.drop_column("safety_labels")
        batch.drop_column("safety_score")
        batch.drop_column("safety_flagged")
