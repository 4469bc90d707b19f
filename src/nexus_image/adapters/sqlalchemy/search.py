"""Search in SQL, with the rules of domain.search, as one SELECT of a page (keyset: the rows after
the cursor's position in the query's order, never OFFSET).

PostgreSQL matches words with `to_tsvector('english', prompt) @@ plainto_tsquery(...)` and parts
of words with `prompt ILIKE '%part%'`, each served by its GIN index (tables.py); relevance is
`ts_rank`. SQLite looks the words up in the FTS5 tables of migration 0015 (`job_prompt_words`,
Porter stems; `job_prompt_trigrams`, parts of words), kept in step with `jobs` by triggers;
relevance is FTS5's `bm25`. Both order by (relevance,) date, id, all descending; the date is
the creation, in the gallery the completion (as the gallery lists them)."""

from __future__ import annotations

from functools import reduce
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from nexus_image.adapters.sqlalchemy.mappers import job_from_row
from nexus_image.adapters.sqlalchemy.tables import (
    album_images,
    albums,
    favorites,
    job_prompt,
    jobs,
    prompt_words,
)
from nexus_image.adapters.sqlalchemy.types import UtcDateTime
from nexus_image.domain.job import JobStatus
from nexus_image.domain.parameters import Kind, Mode
from nexus_image.domain.search import (
    FieldFilter,
    SearchPage,
    SearchPosition,
    SearchQuery,
    SearchSort,
    SearchTerm,
)

if TYPE_CHECKING:
    from nexus_image.adapters.sqlalchemy.base import SqlRepository

WORDS_TABLE, TRIGRAMS_TABLE = "job_prompt_words", "job_prompt_trigrams"
SQLITE_SEARCH_TABLES = (WORDS_TABLE, TRIGRAMS_TABLE)
SCORE = "search_score"
_ENGLISH = sa.text("'english'::regconfig")


def is_search_table(name: str) -> bool:
    """One of the FTS5 tables (or the shadow tables SQLite keeps for each)."""
    return any(name == table or name.startswith(f"{table}_") for table in SQLITE_SEARCH_TABLES)


def described_in_code(name: str | None, type_: str, parent_names: Any) -> bool:
    """For Alembic's comparison of the schema with tables.py (`include_name`): the FTS5 tables
    are made by migration 0015 only, as SQLAlchemy cannot describe a virtual table."""
    return not (type_ == "table" and name is not None and is_search_table(name))


def search(repository: SqlRepository, owner: str | None, query: SearchQuery) -> SearchPage:
    postgres = repository.postgres
    gallery = owner is None
    date = jobs.c.completed_at if gallery else jobs.c.created_at
    where = _scope(owner) + _filters(owner, query, postgres) + _words(query.terms, postgres)
    source: sa.FromClause = jobs
    score: sa.ColumnElement[Any] | None = None
    if query.sort is SearchSort.RELEVANCE:
        score, source = _postgres_rank(query.terms) if postgres else _sqlite_rank(query.terms)
    keys: list[sa.ColumnElement[Any]] = ([score] if score is not None else []) + [date, jobs.c.id]
    if query.after is not None:
        after = query.after
        values: list[Any] = [] if score is None else [sa.literal(after.score, sa.Double())]
        values += [sa.literal(after.at, UtcDateTime()), sa.literal(after.id)]
        where.append(sa.tuple_(*keys) < sa.tuple_(*values))
    columns: list[Any] = [jobs] + ([score.label(SCORE)] if score is not None else [])
    statement = (
        sa.select(*columns)
        .select_from(source)
        .where(*where)
        .order_by(*(key.desc() for key in keys))
        .limit(query.limit + 1)
    )
    rows = list(repository.execute(statement).mappings())
    page = rows[: query.limit]
    last = page[-1] if page and len(rows) > query.limit else None
    position = None
    if last is not None:
        ranked = float(last[SCORE]) if score is not None else None
        position = SearchPosition(ranked, last[date.name], last["id"])
    return SearchPage([job_from_row(row) for row in page], position)


def _scope(owner: str | None) -> list[sa.ColumnElement[bool]]:
    kept = jobs.c.data_removed_at.is_(None)
    if owner is None:
        # `= true`: PostgreSQL proves ix_jobs_gallery's predicate from this spelling only
        return [jobs.c.is_public == sa.true(), jobs.c.status == JobStatus.COMPLETED.value, kept]
    return [jobs.c.user_id == owner, kept]


def _filters(owner: str | None, query: SearchQuery, postgres: bool) -> list[sa.ColumnElement[bool]]:
    found = [_holds(f, postgres) for f in query.filters]
    if query.created_from is not None:
        found.append(jobs.c.created_at >= query.created_from)
    if query.created_to is not None:
        found.append(jobs.c.created_at <= query.created_to)
    if query.public is not None:
        found.append(jobs.c.is_public == (sa.true() if query.public else sa.false()))
    if query.mode is not None:
        found.append(_mode(query.mode))
    if owner is not None and query.favorite is not None:
        liked = sa.exists().where(favorites.c.user_id == owner, favorites.c.image_id == jobs.c.id)
        found.append(liked if query.favorite else ~liked)
    if owner is not None and query.album is not None:
        held = (
            sa.exists()
            .where(album_images.c.album_id == query.album, album_images.c.image_id == jobs.c.id)
            .where(albums.c.id == album_images.c.album_id, albums.c.owner_id == owner)
        )
        found.append(held)
    return found


def _holds(found: FieldFilter, postgres: bool) -> sa.ColumnElement[bool]:
    """The rule of `search_matches` on the stored row: a field with a column of its own (the
    model, the resolution) is compared there, any other in the parameters' JSON document."""
    name, kind, wanted = found.field.name, found.field.param.kind, found.value
    if kind is Kind.ADAPTERS:
        return _uses_adapter(name, str(wanted), postgres)
    if name in jobs.c:
        return jobs.c[name] == str(wanted)
    held = jobs.c.parameters[name]
    if kind is Kind.INTEGER:
        number: sa.ColumnElement[int] = (
            sa.cast(held.as_string(), sa.BigInteger()) if postgres else held.as_integer()
        )
        return number == cast(int, wanted)
    text: sa.ColumnElement[str] = held.as_string()
    return text == str(wanted)


def _uses_adapter(field: str, name: str, postgres: bool) -> sa.ColumnElement[bool]:
    if postgres:
        wanted = sa.literal({field: [{"name": name}]}, JSONB())
        return jobs.c.parameters.op("@>")(wanted)
    each = sa.func.json_each(jobs.c.parameters, f"$.{field}").table_valued("value")
    return sa.exists().select_from(each).where(sa.func.json_extract(each.c.value, "$.name") == name)


def _mode(mode: Mode) -> sa.ColumnElement[bool]:
    """The rule of GenerationParameters.mode, on the stored document (JSON null reads as NULL)."""
    p = jobs.c.parameters
    upscale, start, mask = (
        sa.type_coerce(p[name].as_string(), sa.Text())
        for name in ("upscale_of", "init_image_id", "mask_image_id")
    )
    if mode is Mode.UPSCALE:
        return upscale.is_not(None)
    if mode is Mode.TXT2IMG:
        return sa.and_(upscale.is_(None), start.is_(None))
    masked = mask.is_not(None) if mode is Mode.INPAINT else mask.is_(None)
    return sa.and_(upscale.is_(None), start.is_not(None), masked)


def _words(terms: tuple[SearchTerm, ...], postgres: bool) -> list[sa.ColumnElement[bool]]:
    """Each term matches as a word (by stem) or as a part of a word, as it may."""
    found: list[sa.ColumnElement[bool]] = []
    for term in terms:
        ways: list[sa.ColumnElement[bool]] = []
        if term.whole_word:
            ways.append(_word(term.text) if postgres else _fts(WORDS_TABLE, term.text))
        if term.partial:
            ways.append(job_prompt.ilike(f"%{term.text}%") if postgres else _fts(TRIGRAMS_TABLE, term.text))
        found.append(sa.or_(*ways))
    return found


def _word(text: str) -> sa.ColumnElement[bool]:
    return prompt_words.op("@@", return_type=sa.Boolean())(sa.func.plainto_tsquery(_ENGLISH, text))


def _match(table: str, expression: str) -> sa.ColumnElement[bool]:
    return sa.literal_column(table).op("MATCH", return_type=sa.Boolean())(expression)


def _fts(table: str, text: str) -> sa.ColumnElement[bool]:
    """The job ids whose prompt has `text` as a phrase (terms hold letters and digits only)."""
    found = sa.table(table, sa.column("job_id"))
    return jobs.c.id.in_(sa.select(found.c.job_id).where(_match(table, f'"{text}"')))


def _postgres_rank(terms: tuple[SearchTerm, ...]) -> tuple[sa.ColumnElement[Any], sa.FromClause]:
    wanted: list[sa.ColumnElement[Any]] = [
        sa.func.plainto_tsquery(_ENGLISH, t.text) for t in terms if t.whole_word
    ]
    either = reduce(lambda a, b: a.op("||")(b), wanted)  # tsquery OR tsquery
    # as double precision: a real is sent as text rounded to 6 digits, and the cursor's copy
    # would then no longer equal the score it came from
    return sa.cast(sa.func.ts_rank(prompt_words, either), sa.Double()), jobs


def _sqlite_rank(terms: tuple[SearchTerm, ...]) -> tuple[sa.ColumnElement[Any], sa.FromClause]:
    """bm25 is lower for better matches; the rows matching no word as a whole get 0."""
    words = sa.table(WORDS_TABLE, sa.column("job_id"))
    either = " OR ".join(f'"{t.text}"' for t in terms if t.whole_word)
    bm25 = sa.func.bm25(sa.literal_column(WORDS_TABLE))
    ranked = (
        sa.select(words.c.job_id, (-bm25).label("rank")).where(_match(WORDS_TABLE, either)).subquery("ranked")
    )
    score = sa.func.coalesce(ranked.c.rank, 0.0)
    return score, jobs.outerjoin(ranked, ranked.c.job_id == jobs.c.id)
