"""Uploads (the starting images and masks of image to image and inpainting), and on each job its
starting image, mask, strength and LoRA adapters.

Images made before this version start from noise (no starting image) and use no adapter.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _identifier(length: int = 64) -> sa.types.TypeEngine[str]:
    """As the tables' ids: byte-wise ("C") collation on PostgreSQL."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _moment() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("init_image_id", _identifier(), nullable=True))
        batch.add_column(sa.Column("mask_image_id", _identifier(), nullable=True))
        batch.add_column(sa.Column("strength", sa.Float(), nullable=True))
        batch.add_column(sa.Column("loras", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True))
    op.create_table(
        "uploads",
        sa.Column("id", _identifier(), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("source_format", sa.String(16), nullable=False),
        sa.Column("created_at", _moment(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_uploads"),
    )
    op.create_index("ix_uploads_user_created", "uploads", ["user_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_uploads_user_created", table_name="uploads")
    op.drop_table("uploads")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("loras")
        batch.drop_column("strength")
        batch.drop_column("mask_image_id")
        batch.drop_column("init_image_id")
