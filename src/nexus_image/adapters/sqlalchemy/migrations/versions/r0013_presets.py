"""Users' presets (`presets`): a named prompt template, negative prompt, optional built-in style
and generation parameters (one JSON object), owned by a user, names unique per owner, public
ones listed for everybody.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _moment() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _id() -> sa.types.TypeEngine[str]:
    return sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "presets",
        sa.Column("id", _id(), nullable=False),
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("negative_prompt", sa.Text(), nullable=False),
        sa.Column("style", sa.String(16), nullable=True),
        sa.Column("parameters", _json(), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("created_at", _moment(), nullable=False),
        sa.Column("updated_at", _moment(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_presets"),
        sa.UniqueConstraint("owner_id", "name", name="uq_presets_owner_name"),
    )
    op.create_index("ix_presets_owner_created", "presets", ["owner_id", "created_at", "id"])
    op.create_index(
        "ix_presets_public",
        "presets",
        ["created_at", "id"],
        postgresql_where=sa.text("is_public"),
        sqlite_where=sa.text("is_public = 1"),
    )


def downgrade() -> None:
    op.drop_index("ix_presets_public", table_name="presets")
    op.drop_index("ix_presets_owner_created", table_name="presets")
    op.drop_table("presets")
