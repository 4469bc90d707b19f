"""The schema: jobs, albums, favorites, token accounts and ledger, idempotency keys, audit log,
outbox and rate limits, with the indexes their queries need.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Types frozen here on purpose: a migration must keep meaning what it meant when written.
USER = 255
KEY = 512


def ident(length: int = 64) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def serial() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def partial(where: str) -> dict[str, Any]:
    return {"postgresql_where": sa.text(where), "sqlite_where": sa.text(where)}


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", ident(), nullable=False),
        sa.Column("user_id", sa.String(USER), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("negative_prompt", sa.Text(), nullable=False),
        sa.Column("style", sa.String(16), nullable=False),
        sa.Column("resolution", sa.String(16), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("guidance", sa.Float(), nullable=False),
        sa.Column("scheduler", sa.String(32), nullable=False),
        sa.Column("tokens_cost", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("companion_id", sa.String(USER), nullable=True),
        sa.Column("created_at", when(), nullable=False),
        sa.Column("started_at", when(), nullable=True),
        sa.Column("completed_at", when(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("image_key", sa.String(KEY), nullable=True),
        sa.Column("thumbnail_key", sa.String(KEY), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(USER), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
        sa.CheckConstraint(
            "status IN ('QUEUED', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED')", name="ck_jobs_status"
        ),
        sa.CheckConstraint("tokens_cost >= 0", name="ck_jobs_tokens_cost"),
    )
    op.create_index("ix_jobs_user_created", "jobs", ["user_id", "created_at", "id"])
    op.create_index(
        "ix_jobs_gallery",
        "jobs",
        ["completed_at", "id"],
        postgresql_where=sa.text("is_public AND status = 'COMPLETED'"),
        sqlite_where=sa.text("is_public = 1 AND status = 'COMPLETED'"),
    )
    op.create_index("ix_jobs_failed_age", "jobs", ["created_at", "id"], **partial("status = 'FAILED'"))
    op.create_index("ix_jobs_processing_started", "jobs", ["started_at"], **partial("status = 'PROCESSING'"))
    op.create_index("ix_jobs_queued_created", "jobs", ["created_at", "id"], **partial("status = 'QUEUED'"))

    op.create_table(
        "albums",
        sa.Column("id", ident(), nullable=False),
        sa.Column("owner_id", sa.String(USER), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", when(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_albums"),
        sa.UniqueConstraint("owner_id", "name", name="uq_albums_owner_name"),
    )
    op.create_index("ix_albums_owner_created", "albums", ["owner_id", "created_at"])

    op.create_table(
        "album_images",
        sa.Column("album_id", ident(), nullable=False),
        sa.Column("image_id", ident(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("album_id", "image_id", name="pk_album_images"),
        sa.ForeignKeyConstraint(
            ["album_id"], ["albums.id"], name="fk_album_images_album_id_albums", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["image_id"], ["jobs.id"], name="fk_album_images_image_id_jobs", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_album_images_album_position", "album_images", ["album_id", "position"])
    op.create_index("ix_album_images_image", "album_images", ["image_id"])

    op.create_table(
        "favorites",
        sa.Column("user_id", sa.String(USER), nullable=False),
        sa.Column("image_id", ident(), nullable=False),
        sa.Column("created_at", when(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "image_id", name="pk_favorites"),
        sa.ForeignKeyConstraint(
            ["image_id"], ["jobs.id"], name="fk_favorites_image_id_jobs", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_favorites_user_created", "favorites", ["user_id", "created_at", "image_id"])
    op.create_index("ix_favorites_image", "favorites", ["image_id"])

    op.create_table(
        "token_accounts",
        sa.Column("user_id", sa.String(USER), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_token_accounts"),
        sa.CheckConstraint("balance >= 0", name="ck_token_accounts_balance_not_negative"),
    )
    op.create_table(
        "token_ledger",
        sa.Column("id", serial(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(USER), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(KEY), nullable=False),
        sa.Column("job_id", ident(), nullable=True),
        sa.Column("at", when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_token_ledger"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["token_accounts.user_id"], name="fk_token_ledger_user_id_token_accounts"
        ),
        sa.CheckConstraint("kind IN ('GRANT', 'DEBIT', 'REFUND')", name="ck_token_ledger_kind"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_token_ledger_user_id", "token_ledger", ["user_id", "id"])
    op.create_index("ix_token_ledger_at", "token_ledger", ["at"])

    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.String(USER), nullable=False),
        sa.Column("key", sa.String(KEY), nullable=False),
        sa.Column("job_id", ident(), nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("created_at", when(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name="pk_idempotency_keys"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", serial(), autoincrement=True, nullable=False),
        sa.Column("actor", sa.String(USER), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(KEY), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("at", when(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_actor_at", "audit_log", ["actor", "at"])

    op.create_table(
        "outbox",
        sa.Column("position", serial(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("job_id", ident(), nullable=False),
        sa.Column("payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created_at", when(), nullable=False),
        sa.Column("sent_at", when(), nullable=True),
        sa.PrimaryKeyConstraint("position", name="pk_outbox"),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_pending", "outbox", ["position"], **partial("sent_at IS NULL"))

    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(KEY), nullable=False),
        sa.Column("window_start", when(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name="pk_rate_limits"),
    )


def downgrade() -> None:
    for table in (
        "rate_limits",
        "outbox",
        "audit_log",
        "idempotency_keys",
        "token_ledger",
        "token_accounts",
        "favorites",
        "album_images",
        "albums",
        "jobs",
    ):
        op.drop_table(table)
