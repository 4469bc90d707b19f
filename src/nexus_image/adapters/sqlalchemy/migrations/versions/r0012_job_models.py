"""Several models per deployment: on each job the model that draws it (`model`, a copy of its
parameters' `model`: the dispatcher hands a job only to a worker that serves its model). Jobs
from before name none (NULL): any worker takes them, with its default model. A worker's seat
now lists its partitions per model it serves (`queue_workers.partitions` holds a JSON object;
a list, as written before, is read as the plain topic's).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("model", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("model")
