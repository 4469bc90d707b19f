"""The schema, as SQLAlchemy Core tables. The migrations create exactly this (a test compares them).

Rows are turned into domain objects by `mappers`; the domain never sees these tables."""

from __future__ import annotations

import sqlalchemy as sa

from nexus_image.adapters.sqlalchemy.types import UtcDateTime, big_serial, identifier, json_document

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = sa.MetaData(naming_convention=NAMING)

USER = 255  # user ids come from the platform's JWT `sub`; keys and names are bounded too
KEY = 512

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", identifier(), primary_key=True),
    sa.Column("user_id", sa.String(USER), nullable=False),
    # What the domain's GenerationParameters.to_dict writes, whole; `resolution` is a column of
    # its own too, because the monitoring views group by it.
    sa.Column("parameters", json_document(), nullable=False),
    sa.Column("resolution", sa.String(16), nullable=False),
    sa.Column("group_id", identifier(), nullable=True),  # the images of one request for several
    sa.Column("tokens_cost", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("is_public", sa.Boolean(), nullable=False),
    sa.Column("companion_id", sa.String(USER), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=True),
    sa.Column("completed_at", UtcDateTime(), nullable=True),
    sa.Column("failure_reason", sa.Text(), nullable=True),
    sa.Column("image_key", sa.String(KEY), nullable=True),
    sa.Column("thumbnail_key", sa.String(KEY), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("worker_id", sa.String(USER), nullable=True),
    sa.Column("lease_expires_at", UtcDateTime(), nullable=True),
    # the output check, once COMPLETED (NULL: not checked)
    sa.Column("safety_flagged", sa.Boolean(), nullable=True),
    sa.Column("safety_score", sa.Float(), nullable=True),
    sa.Column("safety_labels", sa.String(512), nullable=True),
    sa.Column("safety_checker", sa.String(32), nullable=True),
    sa.Column("version", sa.Integer(), nullable=False),
    # the fair queue: the owner's tier, the deadline, and the dispatch to the workers
    sa.Column("tier", sa.String(32), nullable=False, server_default="standard"),
    sa.Column("deadline_at", UtcDateTime(), nullable=True),
    sa.Column("dispatched_at", UtcDateTime(), nullable=True),
    sa.Column("dispatched_to", sa.String(USER), nullable=True),
    # the model that draws it (a copy of parameters.model: the dispatcher picks jobs by it)
    sa.Column("model", sa.String(64), nullable=True),
    # accounts and operators: the bytes its files take, how far its worker got (at lease
    # renewals: a proportional refund on cancel), an operator's decision on its safety flag
    sa.Column("stored_bytes", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("steps_done", sa.Integer(), nullable=True),
    sa.Column("steps_total", sa.Integer(), nullable=True),
    sa.Column("safety_review", sa.String(16), nullable=True),
    # retention: when its files were removed (the row stays, a tombstone); NULL: still kept
    sa.Column("data_removed_at", UtcDateTime(), nullable=True),
    sa.CheckConstraint(
        "status IN ('QUEUED', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED', 'EXPIRED')", name="status"
    ),
    sa.CheckConstraint("tokens_cost >= 0", name="tokens_cost"),
)
# "My images", newest first: ORDER BY created_at DESC, id DESC is a backward scan of this index
# (both directions flip together), so a descending index would add nothing.
sa.Index("ix_jobs_user_created", jobs.c.user_id, jobs.c.created_at, jobs.c.id)
# The public gallery: only public COMPLETED rows are in this index, ordered by completion.
# Each engine uses a partial index only for queries whose WHERE matches its predicate, written
# the way that engine's query is compiled (`is_public = true` / `is_public = 1`).
sa.Index(
    "ix_jobs_gallery",
    jobs.c.completed_at,
    jobs.c.id,
    postgresql_where=sa.text("is_public AND status = 'COMPLETED'"),
    sqlite_where=sa.text("is_public = 1 AND status = 'COMPLETED'"),
)
# Maintenance queries: FAILED jobs by age (cleanup), PROCESSING by lease (recovery of jobs whose
# worker stopped renewing), COMPLETED by completion (recent generation times, for estimates),
# QUEUED by creation (queue age and position).
for _name, _status, _columns in (
    ("ix_jobs_failed_age", "FAILED", (jobs.c.created_at, jobs.c.id)),
    ("ix_jobs_processing_lease", "PROCESSING", (jobs.c.lease_expires_at,)),
    ("ix_jobs_completed", "COMPLETED", (jobs.c.completed_at, jobs.c.id)),
    ("ix_jobs_queued_created", "QUEUED", (jobs.c.created_at, jobs.c.id)),
):
    _where = sa.text(f"status = '{_status}'")
    sa.Index(_name, *_columns, postgresql_where=_where, sqlite_where=_where)

# The dispatcher: one user's queued jobs, oldest first (their next job, how many they have
# queued); those dispatched and not started (per worker; stale ones); deadlines to expire.
_QUEUED = sa.text("status = 'QUEUED'")
sa.Index(
    "ix_jobs_queued_user",
    jobs.c.user_id,
    jobs.c.created_at,
    jobs.c.id,
    postgresql_where=_QUEUED,
    sqlite_where=_QUEUED,
)
_DISPATCHED = sa.text("status = 'QUEUED' AND dispatched_at IS NOT NULL")
sa.Index("ix_jobs_dispatched", jobs.c.dispatched_at, postgresql_where=_DISPATCHED, sqlite_where=_DISPATCHED)
_DEADLINE = sa.text("status = 'QUEUED' AND deadline_at IS NOT NULL")
sa.Index("ix_jobs_deadline", jobs.c.deadline_at, postgresql_where=_DEADLINE, sqlite_where=_DEADLINE)

# The operators' review of images the output check flagged, oldest first.
_FLAGGED = sa.text("safety_flagged AND status = 'COMPLETED'")
sa.Index(
    "ix_jobs_flagged",
    jobs.c.completed_at,
    jobs.c.id,
    postgresql_where=_FLAGGED,
    sqlite_where=sa.text("safety_flagged = 1 AND status = 'COMPLETED'"),
)

# Retention: a tier's images still kept, oldest first (each tier's scan is a range of it); and
# the rows marked removed whose objects are still to be deleted (a run stopped in between).
_KEPT = sa.text("data_removed_at IS NULL")
sa.Index(
    "ix_jobs_retention",
    jobs.c.tier,
    jobs.c.created_at,
    jobs.c.id,
    postgresql_where=_KEPT,
    sqlite_where=_KEPT,
)
_REMOVING = sa.text("data_removed_at IS NOT NULL AND (image_key IS NOT NULL OR thumbnail_key IS NOT NULL)")
sa.Index(
    "ix_jobs_removing", jobs.c.data_removed_at, jobs.c.id, postgresql_where=_REMOVING, sqlite_where=_REMOVING
)

sa.Index(
    "ix_jobs_group",
    jobs.c.group_id,
    postgresql_where=sa.text("group_id IS NOT NULL"),
    sqlite_where=sa.text("group_id IS NOT NULL"),
)

# Search in prompts, on PostgreSQL (SQLite has FTS5 tables instead: adapters.sqlalchemy.search):
# the words by their English stems, and the trigrams of the text for parts of words (pg_trgm).
# A query is served only when it spells these expressions exactly so: it takes them from here.
job_prompt = jobs.c.parameters.op("->>", return_type=sa.Text())(sa.text("'prompt'"))
prompt_words = sa.func.to_tsvector(sa.text("'english'::regconfig"), job_prompt)
sa.Index("ix_jobs_prompt_words", prompt_words, postgresql_using="gin").ddl_if(dialect="postgresql")
sa.Index(
    "ix_jobs_prompt_trigrams",
    job_prompt.label("prompt"),
    postgresql_using="gin",
    postgresql_ops={"prompt": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")

albums = sa.Table(
    "albums",
    metadata,
    sa.Column("id", identifier(), primary_key=True),
    sa.Column("owner_id", sa.String(USER), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.UniqueConstraint("owner_id", "name", name="uq_albums_owner_name"),
)
sa.Index("ix_albums_owner_created", albums.c.owner_id, albums.c.created_at)

# `position` keeps insertion order; removing an image leaves a gap, which is harmless.
album_images = sa.Table(
    "album_images",
    metadata,
    sa.Column("album_id", identifier(), sa.ForeignKey("albums.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("image_id", identifier(), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.Integer(), nullable=False),
)
sa.Index("ix_album_images_album_position", album_images.c.album_id, album_images.c.position)
sa.Index("ix_album_images_image", album_images.c.image_id)

favorites = sa.Table(
    "favorites",
    metadata,
    sa.Column("user_id", sa.String(USER), primary_key=True),
    sa.Column("image_id", identifier(), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)
sa.Index("ix_favorites_user_created", favorites.c.user_id, favorites.c.created_at, favorites.c.image_id)
sa.Index("ix_favorites_image", favorites.c.image_id)

token_accounts = sa.Table(
    "token_accounts",
    metadata,
    sa.Column("user_id", sa.String(USER), primary_key=True),
    sa.Column("balance", sa.BigInteger(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("tier", sa.String(32), nullable=True),  # an operator's choice; NULL: the token's
    sa.Column("suspended_at", UtcDateTime(), nullable=True),  # by an operator; NULL: in service
    sa.Column("suspended_reason", sa.String(KEY), nullable=True),
    sa.CheckConstraint("balance >= 0", name="balance_not_negative"),
)
# Suspended users, for every replica's guard (a handful of rows).
sa.Index(
    "ix_token_accounts_suspended",
    token_accounts.c.user_id,
    postgresql_where=sa.text("suspended_at IS NOT NULL"),
    sqlite_where=sa.text("suspended_at IS NOT NULL"),
)

# Append-only: every grant, debit and refund. The sum of a user's amounts is their balance.
token_ledger = sa.Table(
    "token_ledger",
    metadata,
    sa.Column("id", big_serial(), primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(USER), sa.ForeignKey("token_accounts.user_id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("amount", sa.BigInteger(), nullable=False),
    sa.Column("reason", sa.String(KEY), nullable=False),
    sa.Column("job_id", identifier(), nullable=True),  # no FK: the ledger outlives deleted jobs
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('GRANT', 'DEBIT', 'REFUND')", name="kind"),
    sqlite_autoincrement=True,
)
sa.Index("ix_token_ledger_user_id", token_ledger.c.user_id, token_ledger.c.id)
sa.Index("ix_token_ledger_at", token_ledger.c.at)
# Quotas: a user's charges in a period, and whether each job was refunded.
sa.Index("ix_token_ledger_user_at", token_ledger.c.user_id, token_ledger.c.at)
sa.Index(
    "ix_token_ledger_job",
    token_ledger.c.job_id,
    postgresql_where=sa.text("job_id IS NOT NULL"),
    sqlite_where=sa.text("job_id IS NOT NULL"),
)

# No FK to jobs: a replayed key whose job was deleted must say "not found", not charge again.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("user_id", sa.String(USER), primary_key=True),
    sa.Column("key", sa.String(KEY), primary_key=True),
    sa.Column("job_id", identifier(), nullable=False),
    sa.Column("fingerprint", sa.String(128), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

uploads = sa.Table(
    "uploads",
    metadata,
    sa.Column("id", identifier(), primary_key=True),
    sa.Column("user_id", sa.String(USER), nullable=False),
    sa.Column("width", sa.Integer(), nullable=False),
    sa.Column("height", sa.Integer(), nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("source_format", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)
sa.Index("ix_uploads_user_created", uploads.c.user_id, uploads.c.created_at, uploads.c.id)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", big_serial(), primary_key=True, autoincrement=True),
    sa.Column("actor", sa.String(USER), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(KEY), nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    # the service key the actor acted through (`key:<id> (<name>)`); empty for the actor's own token
    sa.Column("via", sa.String(KEY), nullable=False, server_default=""),
    sqlite_autoincrement=True,
)
sa.Index("ix_audit_log_at", audit_log.c.at)
sa.Index("ix_audit_log_actor_at", audit_log.c.actor, audit_log.c.at)

# Events written in the same transaction as the change they describe; the relay publishes them.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("position", big_serial(), primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("job_id", identifier(), nullable=False),  # the message key: one job's events stay in order
    sa.Column("payload", json_document(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("sent_at", UtcDateTime(), nullable=True),
    sqlite_autoincrement=True,
)
_UNSENT = sa.text("sent_at IS NULL")
sa.Index("ix_outbox_pending", outbox.c.position, postgresql_where=_UNSENT, sqlite_where=_UNSENT)
# The outbox events still to be looked at for webhooks (a job's life events only): rows of their
# own, so that routing them never locks the outbox rows the relay takes, nor the reverse.
webhook_routing = sa.Table(
    "webhook_routing",
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
)

# Webhooks: a user's endpoints, the secrets of their requests' own URLs, the request's
# subscription, and each message to each destination with its attempts.
URL = 2048
webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", identifier(), primary_key=True),
    sa.Column("user_id", sa.String(USER), nullable=False, index=True),
    sa.Column("url", sa.String(URL), nullable=False),
    sa.Column("events", json_document(), nullable=False),
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("previous_secret", sa.String(128), nullable=True),
    sa.Column("previous_until", UtcDateTime(), nullable=True),
    sa.Column("description", sa.String(255), nullable=False),
    sa.Column("enabled", sa.Boolean(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)
webhook_secrets = sa.Table(
    "webhook_secrets",
    metadata,
    sa.Column("user_id", sa.String(USER), primary_key=True),
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("previous_secret", sa.String(128), nullable=True),
    sa.Column("previous_until", UtcDateTime(), nullable=True),
)
webhook_subscriptions = sa.Table(
    "webhook_subscriptions",
    metadata,
    sa.Column("job_id", identifier(), primary_key=True),
    sa.Column("url", sa.String(URL), nullable=False),
    sa.Column("events", json_document(), nullable=False),
)
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # the webhook-id header
    sa.Column("user_id", sa.String(USER), nullable=False),
    sa.Column("job_id", identifier(), nullable=False, index=True),
    sa.Column("endpoint_id", identifier(), nullable=True, index=True),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("url", sa.String(URL), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
)
_DUE = sa.text("status = 'pending'")
sa.Index(
    "ix_webhook_deliveries_due",
    webhook_deliveries.c.next_attempt_at,
    postgresql_where=_DUE,
    sqlite_where=_DUE,
)
# A user's deliveries, newest first (their delivery log; their erasure).
sa.Index(
    "ix_webhook_deliveries_user",
    webhook_deliveries.c.user_id,
    webhook_deliveries.c.created_at,
    webhook_deliveries.c.id,
)
webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("delivery_id", sa.String(64), primary_key=True),
    sa.Column("number", sa.Integer(), primary_key=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("status_code", sa.Integer(), nullable=True),
    sa.Column("latency_ms", sa.Integer(), nullable=False),
    sa.Column("error", sa.String(512), nullable=True),
    sa.Column("response", sa.String(1024), nullable=False),
)

# The sliding logs of the HTTP layer's per-user rate limiting, one row per key: `hits` is a JSON
# list of the times (seconds since the epoch, oldest first) of its accepted hits still inside the
# window, at most the limit of them; `expires_at` is when the newest leaves the window (the row
# is idle after it, and swept).
rate_limit_logs = sa.Table(
    "rate_limit_logs",
    metadata,
    sa.Column("key", sa.String(KEY), primary_key=True),
    sa.Column("hits", sa.Text(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
)

# The fair queue's rotations: one row per user who ever queued; `waiting` while they have jobs
# to dispatch (set with each new one, cleared by the dispatcher when it finds none, unless `mark`
# moved meanwhile); `served_at` orders a tier's rotation (least recently served first).
queue_users = sa.Table(
    "queue_users",
    metadata,
    # byte-wise ("C") on PostgreSQL, as Python compares: ties in a rotation break alike everywhere
    sa.Column("user_id", identifier(USER), primary_key=True),
    sa.Column("tier", sa.String(32), nullable=False),
    sa.Column("served_at", UtcDateTime(), nullable=False),
    sa.Column("waiting", sa.Boolean(), nullable=False),
    sa.Column("mark", sa.BigInteger(), nullable=False),
)
_WAITING = sa.text("waiting")
sa.Index(
    "ix_queue_users_rotation",
    queue_users.c.tier,
    queue_users.c.served_at,
    queue_users.c.user_id,
    postgresql_where=_WAITING,
    sqlite_where=sa.text("waiting = 1"),
)

# How many images each user has waiting (QUEUED, not dispatched) per model ('' for jobs naming
# none), kept by triggers on `jobs` (migration 0018), so that a job's place in the fair order
# and the queue gauges read counts without counting the waiting jobs. Rows stay at 0.
queue_waiting = sa.Table(
    "queue_waiting",
    metadata,
    sa.Column("user_id", identifier(USER), primary_key=True),
    sa.Column("model", sa.String(64), primary_key=True),
    sa.Column("jobs", sa.Integer(), nullable=False),
)
sa.Index(
    "ix_queue_waiting_some",
    queue_waiting.c.user_id,
    postgresql_where=sa.text("jobs > 0"),
    sqlite_where=sa.text("jobs > 0"),
)

# Small named values of the queue: `paused` (1 or 0), `clock` (the tiers' virtual time) and
# `pass:<tier>` (each tier's).
queue_state = sa.Table(
    "queue_state",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Float(), nullable=False),
    sa.Column("changed_at", UtcDateTime(), nullable=False),
)

# The workers taking jobs: how many may be dispatched to each and not started, per model it
# serves the transport partitions of that model's jobs it reads (a JSON object; NULL: any job),
# and when it last said so.
queue_workers = sa.Table(
    "queue_workers",
    metadata,
    sa.Column("worker_id", sa.String(USER), primary_key=True),
    sa.Column("capacity", sa.Integer(), nullable=False),
    sa.Column("partitions", sa.Text(), nullable=True),
    sa.Column("seen_at", UtcDateTime(), nullable=False),
)

# Service keys: only the SHA-256 of the secret is kept. `scopes` is a space-separated list of the
# closed set the domain names; `user_id` is whom the key is when it names nobody.
service_keys = sa.Table(
    "service_keys",
    metadata,
    sa.Column("id", identifier(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(USER), nullable=False),
    sa.Column("scopes", sa.String(KEY), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=True),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
    sa.Column("last_used_at", UtcDateTime(), nullable=True),
    sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True),
    sa.CheckConstraint("rate_limit_per_minute IS NULL OR rate_limit_per_minute >= 1", name="rate_limit"),
)

# Users' presets: names unique per owner; `parameters` is the JSON object of generation fields
# the domain checked. "My presets" and the shared gallery are both newest first.
presets = sa.Table(
    "presets",
    metadata,
    sa.Column("id", identifier(), primary_key=True),
    sa.Column("owner_id", sa.String(USER), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("template", sa.Text(), nullable=False),
    sa.Column("negative_prompt", sa.Text(), nullable=False),
    sa.Column("style", sa.String(16), nullable=True),
    sa.Column("parameters", json_document(), nullable=False),
    sa.Column("is_public", sa.Boolean(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.UniqueConstraint("owner_id", "name", name="uq_presets_owner_name"),
)
sa.Index("ix_presets_owner_created", presets.c.owner_id, presets.c.created_at, presets.c.id)
sa.Index(
    "ix_presets_public",
    presets.c.created_at,
    presets.c.id,
    postgresql_where=sa.text("is_public"),
    sqlite_where=sa.text("is_public = 1"),
)
