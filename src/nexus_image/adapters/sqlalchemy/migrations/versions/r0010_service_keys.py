"""Service keys: the `service_keys` table (only the SHA-256 of each secret is kept), and on each
audit row the key the actor acted through (`via`; empty for rows before it and for a user's own
token).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _moment() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "service_keys",
        sa.Column(
            "id", sa.String(32).with_variant(sa.String(32, collation="C"), "postgresql"), nullable=False
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("scopes", sa.String(512), nullable=False),
        sa.Column("created_at", _moment(), nullable=False),
        sa.Column("expires_at", _moment(), nullable=True),
        sa.Column("revoked_at", _moment(), nullable=True),
        sa.Column("last_used_at", _moment(), nullable=True),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "rate_limit_per_minute IS NULL OR rate_limit_per_minute >= 1",
            name="ck_service_keys_rate_limit",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_service_keys"),
    )
    # A plain ADD COLUMN on both engines (a constant default): no copy of the audit trail.
    op.add_column("audit_log", sa.Column("via", sa.String(512), nullable=False, server_default=""))


def downgrade() -> None:
    # DROP COLUMN in place (SQLite >= 3.35 too): a rebuilt table would lose its AUTOINCREMENT.
    op.execute("ALTER TABLE audit_log DROP COLUMN via")
    op.drop_table("service_keys")
