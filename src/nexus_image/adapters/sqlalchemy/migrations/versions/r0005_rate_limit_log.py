"""Exact rate limits: `rate_limit_logs` (one row per key, the times of its accepted hits still
inside the window) replaces the per-window counters of `rate_limits`.

The counters are not carried over: they only ever mattered for the next minute, so after the
upgrade every key starts with an empty log (at most one window of extra allowance, once).
The downgrade likewise recreates `rate_limits` empty.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

KEY = 512  # frozen here on purpose, like every type of a migration


def upgrade() -> None:
    op.create_table(
        "rate_limit_logs",
        sa.Column("key", sa.String(KEY), nullable=False),
        sa.Column("hits", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_rate_limit_logs"),
    )
    op.drop_table("rate_limits")


def downgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(KEY), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name="pk_rate_limits"),
    )
    op.drop_table("rate_limit_logs")
