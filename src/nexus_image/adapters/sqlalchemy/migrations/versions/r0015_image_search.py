"""Search in images: full-text and trigram indexes.

PostgreSQL: two GIN indexes on the prompt (`parameters ->> 'prompt'`): its words by English stem
(`to_tsvector('english', ...)`) and its trigrams (the `pg_trgm` extension, created here if it is
not there: a trusted extension, which the database's owner may create). Plain CREATE INDEX in
the migration's transaction: writes to `jobs` wait while they are built (seconds per million
rows). Downgrading drops the indexes and leaves the extension (other schemas may use it).

SQLite: two FTS5 tables of (job_id, prompt), one with the Porter stemmer (words) and one with
the trigram tokenizer (parts of words), filled from the existing jobs and kept in step with
`jobs` by triggers (the trigram tokenizer needs SQLite 3.34 or later: `sqlite3.sqlite_version`).
A later migration that rebuilds `jobs` on SQLite (batch mode's copy of the table, as a dropped
column needs) drops these triggers with the old table: it must create them again.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

PROMPT = "parameters ->> 'prompt'"
POSTGRES_INDEXES = {
    "ix_jobs_prompt_words": f"to_tsvector('english'::regconfig, ({PROMPT}))",
    "ix_jobs_prompt_trigrams": f"({PROMPT}) gin_trgm_ops",
}
SQLITE_TABLES = {
    "job_prompt_words": "porter unicode61 remove_diacritics 0",
    "job_prompt_trigrams": "trigram",
}
SQLITE_PROMPT = "json_extract({row}.parameters, '$.prompt')"


def _postgres() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def _sqlite_triggers() -> list[str]:
    """Insert, delete, and a change of prompt (which a job never makes today) or of id."""
    added = "; ".join(
        f"INSERT INTO {t} (job_id, prompt) VALUES (new.id, {SQLITE_PROMPT.format(row='new')})"
        for t in SQLITE_TABLES
    )
    removed = "; ".join(f"DELETE FROM {t} WHERE job_id = old.id" for t in SQLITE_TABLES)
    changed = (
        f"{SQLITE_PROMPT.format(row='old')} IS NOT {SQLITE_PROMPT.format(row='new')} OR old.id IS NOT new.id"
    )
    return [
        f"CREATE TRIGGER job_prompt_search_insert AFTER INSERT ON jobs BEGIN {added}; END",
        f"CREATE TRIGGER job_prompt_search_delete AFTER DELETE ON jobs BEGIN {removed}; END",
        f"CREATE TRIGGER job_prompt_search_update AFTER UPDATE OF parameters, id ON jobs "
        f"WHEN {changed} BEGIN {removed}; {added}; END",
    ]


def upgrade() -> None:
    if _postgres():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, expression in POSTGRES_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON jobs USING gin ({expression})")
        return
    prompt = SQLITE_PROMPT.format(row="jobs")
    for table, tokenizer in SQLITE_TABLES.items():
        columns = f"job_id UNINDEXED, prompt, tokenize='{tokenizer}'"
        op.execute(f"CREATE VIRTUAL TABLE {table} USING fts5({columns})")
        op.execute(f"INSERT INTO {table} (job_id, prompt) SELECT id, {prompt} FROM jobs")  # what exists
    for trigger in _sqlite_triggers():
        op.execute(trigger)


def downgrade() -> None:
    if _postgres():
        for name in POSTGRES_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        return
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS job_prompt_search_{trigger}")
    for table in SQLITE_TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table}")
