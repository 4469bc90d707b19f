"""PostgreSQL maintenance objects: `cleanup_failed_images()` and the monitoring views.

SQLite gets none of them: the embedded default has no operators running psql. The function
deletes rows only; `nexus-image maintenance cleanup` also deletes the stored image files, so it
is what should normally run (see docs/operations.md).

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-01
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CLEANUP_FUNCTION = """
CREATE FUNCTION cleanup_failed_images(retention interval DEFAULT interval '24 hours')
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    doomed varchar[];
    removed integer;
BEGIN
    -- SKIP LOCKED: a job the application is deleting right now is left to the application.
    SELECT coalesce(array_agg(id), '{}') INTO doomed
    FROM (
        SELECT id FROM jobs
        WHERE status = 'FAILED' AND coalesce(completed_at, created_at) < now() - retention
        FOR UPDATE SKIP LOCKED
    ) AS old;
    DELETE FROM favorites WHERE image_id = ANY (doomed);
    -- albums that lose an image change: move their version so stale writers conflict
    UPDATE albums SET version = version + 1
    WHERE id IN (SELECT album_id FROM album_images WHERE image_id = ANY (doomed));
    DELETE FROM album_images WHERE image_id = ANY (doomed);
    DELETE FROM jobs WHERE id = ANY (doomed);
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$
"""

VIEWS = {
    "monitoring_jobs_by_status": """
SELECT s.status,
       count(j.id) AS jobs,
       coalesce(sum(j.tokens_cost), 0) AS tokens,
       min(j.created_at) AS oldest_created_at,
       max(j.created_at) AS newest_created_at
FROM (VALUES ('QUEUED'), ('PROCESSING'), ('COMPLETED'), ('FAILED'), ('CANCELLED')) AS s (status)
LEFT JOIN jobs AS j ON j.status = s.status
GROUP BY s.status
""",
    "monitoring_generation_time_last_hour": """
SELECT coalesce(resolution, 'all') AS resolution,
       count(*) AS completed,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS p50_seconds,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds) AS p95_seconds,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY seconds) AS p99_seconds,
       avg(seconds) AS mean_seconds,
       max(seconds) AS max_seconds
FROM (
    SELECT resolution, extract(epoch FROM completed_at - started_at)::double precision AS seconds
    FROM jobs
    WHERE status = 'COMPLETED' AND started_at IS NOT NULL
      AND completed_at >= now() - interval '1 hour'
) AS recent
GROUP BY GROUPING SETS ((resolution), ())
""",
    "monitoring_token_consumption_daily": """
SELECT (at AT TIME ZONE 'UTC')::date AS day,
       coalesce(-sum(amount) FILTER (WHERE kind = 'DEBIT'), 0) AS debited,
       coalesce(sum(amount) FILTER (WHERE kind = 'REFUND'), 0) AS refunded,
       coalesce(-sum(amount) FILTER (WHERE kind IN ('DEBIT', 'REFUND')), 0) AS consumed,
       coalesce(sum(amount) FILTER (WHERE kind = 'GRANT'), 0) AS granted,
       count(*) FILTER (WHERE kind = 'DEBIT') AS generations,
       count(DISTINCT user_id) FILTER (WHERE kind = 'DEBIT') AS paying_users
FROM token_ledger
GROUP BY 1
""",
    "monitoring_queue_age": """
SELECT q.queued_jobs,
       q.oldest_queued_at,
       coalesce(extract(epoch FROM now() - q.oldest_queued_at), 0)::double precision
           AS oldest_queued_seconds,
       p.processing_jobs,
       coalesce(extract(epoch FROM now() - p.oldest_started_at), 0)::double precision
           AS longest_processing_seconds,
       o.outbox_pending,
       coalesce(extract(epoch FROM now() - o.oldest_pending_at), 0)::double precision
           AS oldest_outbox_seconds
FROM (SELECT count(*) AS queued_jobs, min(created_at) AS oldest_queued_at
      FROM jobs WHERE status = 'QUEUED') AS q,
     (SELECT count(*) AS processing_jobs, min(started_at) AS oldest_started_at
      FROM jobs WHERE status = 'PROCESSING') AS p,
     (SELECT count(*) AS outbox_pending, min(created_at) AS oldest_pending_at
      FROM outbox WHERE sent_at IS NULL) AS o
""",
}


def _postgres() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def upgrade() -> None:
    if not _postgres():
        return
    op.execute(CLEANUP_FUNCTION)
    for name, query in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {query}")


def downgrade() -> None:
    if not _postgres():
        return
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.execute("DROP FUNCTION IF EXISTS cleanup_failed_images(interval)")
