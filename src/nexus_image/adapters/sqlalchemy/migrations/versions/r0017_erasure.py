"""Export and erasure of a user's data: an index that finds a user's webhook deliveries (the
other big tables naming a user have one; the outbox is searched by its JSON payload, rarely).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_webhook_deliveries_user", "webhook_deliveries", ["user_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_user", table_name="webhook_deliveries")
