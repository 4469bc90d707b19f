"""Searching images: the words of a prompt and filters on its settings, one page at a time.

The rule every store follows: the words of `q` are split on anything but letters and digits
and each must match the prompt (AND). A word matches a prompt word of the same stem ("foxes"
finds "fox", "running" finds "run"); a word of 3 letters or more also matches inside a word
("drag" finds "dragon", "agon" too). English stop words ("the", "of", ...) never match as
words, only inside words when they are long enough; a word that can match neither way is left
out. Filters combine with AND. Pages follow each other by an opaque cursor: the position of a
page's last image in the query's order, bound to the query it was made for."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from nexus_image.domain.errors import InvalidValue
from nexus_image.domain.job import ImageJob
from nexus_image.domain.parameters import (
    FieldDescription,
    GenerationParameters,
    Mode,
    search_fields,
    search_matches,
    search_value,
)

MAX_QUERY_LENGTH = 200
MAX_TERMS = 10
PARTIAL_MIN = 3  # a shorter word matches whole words only
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
MAX_CURSOR_LENGTH = 1024
MAX_ID_LENGTH = 64
_WORD = re.compile(r"[^\W_]+")

# PostgreSQL's English stop words (tsearch_data/english.stop): the words its full-text search
# drops; every store drops the same ones, so a query means the same everywhere.
_ENGLISH_STOP = """i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
    she her hers herself it its itself they them their theirs themselves what which who whom this
    that these those am is are was were be been being have has had having do does did doing a an
    the and but if or because as until while of at by for with about against between into through
    during before after above below to from up down in out on off over under again further then
    once here there when where why how all any both each few more most other some such no nor not
    only own same so than too very s t can will just don should now"""
STOP_WORDS = frozenset(_ENGLISH_STOP.split())


class InvalidCursor(InvalidValue):
    """A cursor that is not one this service made, or was made for another query or sort."""

    code = "invalid_cursor"

    def __init__(self, message: str) -> None:
        super().__init__("cursor", message)


class SearchSort(StrEnum):
    DATE = "date"  # newest first
    RELEVANCE = "relevance"  # best match first, then newest

    @classmethod
    def parse(cls, value: str) -> SearchSort:
        try:
            return cls(value.strip().lower())
        except ValueError:
            allowed = tuple(s.value for s in cls)
            message = f"unknown sort {value!r}; allowed: {', '.join(allowed)}"
            raise InvalidValue("sort", message, allowed) from None


@dataclass(frozen=True, slots=True)
class SearchTerm:
    """One word of a query, lower-cased, and the ways it may match."""

    text: str
    whole_word: bool  # by stem, against the prompt's words (not a stop word)
    partial: bool  # inside the prompt's text (PARTIAL_MIN letters or more)


def words_of(text: str) -> list[str]:
    """The words of a text as search reads it: runs of letters and digits, lower-cased."""
    return _WORD.findall(text.lower())


def search_terms(text: str) -> tuple[SearchTerm, ...]:
    terms: dict[str, SearchTerm] = {}
    for word in words_of(text):
        term = SearchTerm(word, word not in STOP_WORDS, len(word) >= PARTIAL_MIN)
        if term.whole_word or term.partial:
            terms.setdefault(word, term)
    return tuple(terms.values())


@dataclass(frozen=True, slots=True)
class SearchPosition:
    """Where a page ended, in the query's order: the relevance score (relevance sort only), the
    image's date (creation; completion in the gallery) and its id."""

    score: float | None
    at: datetime
    id: str


@dataclass(frozen=True, slots=True)
class FieldFilter:
    """Images whose generation field (one of `search_fields()`) holds `value`."""

    field: FieldDescription
    value: object

    def keeps(self, parameters: GenerationParameters) -> bool:
        return search_matches(self.field, getattr(parameters, self.field.name), self.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchQuery:
    """What to look for. Build one from a caller's strings with `parse`; the constructor takes
    typed values and checks the rest. `after` is the position the page starts after."""

    text: str = ""
    filters: tuple[FieldFilter, ...] = ()  # values of `search_value`, in declaration order
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # inclusive
    favorite: bool | None = None  # the caller's favorites (True) or not (False); own images only
    public: bool | None = None
    album: str | None = None  # one of the caller's albums; own images only
    mode: Mode | None = None
    sort: SearchSort = SearchSort.DATE
    limit: int = DEFAULT_LIMIT
    after: SearchPosition | None = None
    terms: tuple[SearchTerm, ...] = field(init=False)

    def __post_init__(self) -> None:
        if len(self.text) > MAX_QUERY_LENGTH:
            raise InvalidValue("q", f"q is longer than {MAX_QUERY_LENGTH} characters")
        terms = search_terms(self.text)
        if len(terms) > MAX_TERMS:
            raise InvalidValue("q", f"q has more than {MAX_TERMS} words")
        object.__setattr__(self, "terms", terms)
        for name in ("created_from", "created_to"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InvalidValue(name, f"{name} must be an instant with a time zone")
        if self.created_from and self.created_to and self.created_to < self.created_from:
            raise InvalidValue("created_to", "created_to must not be before created_from")
        if not isinstance(self.limit, int) or not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidValue("limit", f"limit must be between 1 and {MAX_LIMIT}")
        if self.sort is SearchSort.RELEVANCE and not any(t.whole_word for t in terms):
            raise InvalidValue(
                "sort",
                "sort=relevance needs words in q (not only stop words); without: date",
                (SearchSort.DATE.value,),
            )

    @classmethod
    def parse(
        cls,
        *,
        q: str | None = None,
        created_from: str | None = None,
        created_to: str | None = None,
        favorite: bool | None = None,
        public: bool | None = None,
        album: str | None = None,
        mode: str | None = None,
        sort: str | None = None,
        limit: int = DEFAULT_LIMIT,
        **filters: str | int | None,
    ) -> SearchQuery:
        """A query from a caller's strings; an empty string is no filter. Dates are ISO 8601:
        a day (`created_to` then takes in the whole day) or an instant (UTC unless it says).
        `filters` are by the names of `search_fields()`' filters (`style`, `seed`, ...)."""
        unknown = set(filters) - set(filter_names())
        if unknown:
            raise TypeError(f"no search filter named {', '.join(sorted(unknown))}")
        chosen = ((d, search_value(d, filters.get(str(d.param.search)))) for d in search_fields())
        return cls(
            text=q or "",
            filters=tuple(FieldFilter(d, value) for d, value in chosen if value is not None),
            created_from=instant(created_from, "created_from") if created_from else None,
            created_to=instant(created_to, "created_to", end_of_day=True) if created_to else None,
            favorite=favorite,
            public=public,
            album=album or None,
            mode=_mode(mode) if mode else None,
            sort=SearchSort.parse(sort) if sort else SearchSort.DATE,
            limit=limit,
        )

    def fingerprint(self, scope: str) -> str:
        """What a cursor is bound to: the scope searched (whose images) and everything that
        decides the order and the rows, not the page size nor the position."""
        described = [
            scope,
            [t.text for t in self.terms],
            [[f.field.name, str(f.value)] for f in self.filters],
            None if self.mode is None else self.mode.value,
            *(None if v is None else v.isoformat() for v in (self.created_from, self.created_to)),
            self.favorite,
            self.public,
            self.album,
            self.sort.value,
        ]
        text = json.dumps(described, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class SearchPage:
    """A page of images, and the position the next one starts after (None: this is the last)."""

    items: list[ImageJob]
    next: SearchPosition | None


def filter_names() -> tuple[str, ...]:
    """The query parameters that filter by a generation field, in declaration order."""
    return tuple(str(d.param.search) for d in search_fields())


def _mode(value: str) -> Mode:
    try:
        return Mode(value.strip().lower())
    except ValueError:
        allowed = tuple(m.value for m in Mode)
        message = f"unknown mode {value!r}; allowed: {', '.join(allowed)}"
        raise InvalidValue("mode", message, allowed) from None


def instant(text: str, name: str, end_of_day: bool = False) -> datetime:
    """An ISO 8601 day or instant as a UTC instant; a day is its first instant, or with
    `end_of_day` its last (so that "to 2026-03-01" takes in that day)."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            start = datetime.combine(day, time(), tzinfo=UTC)
            return start + timedelta(days=1, microseconds=-1) if end_of_day else start
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidValue(
            name, f"{name} must be an ISO 8601 date (2026-03-01) or date and time (2026-03-01T12:00:00Z)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _finite(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return abs(value) < 2**53 if isinstance(value, int) else math.isfinite(value)


def encode_cursor(position: SearchPosition, fingerprint: str) -> str:
    body = {"f": fingerprint, "s": position.score, "a": position.at.isoformat(), "i": position.id}
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str, scored: bool) -> SearchPosition:
    """The position a cursor holds (with a score when `scored`: sorted by relevance);
    InvalidCursor if it is not one of ours or was made for another query (other words,
    filters, sort or scope)."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursor("cursor is not one this service made")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
        score, at, job_id, made_for = body["s"], body["a"], body["i"], body["f"]
        moment = datetime.fromisoformat(at)
    except (ValueError, TypeError, KeyError, RecursionError, binascii.Error):
        raise InvalidCursor("cursor is not one this service made") from None
    if not (isinstance(job_id, str) and 0 < len(job_id) <= MAX_ID_LENGTH and job_id.isprintable()):
        raise InvalidCursor("cursor is not one this service made")
    if not isinstance(made_for, str) or moment.tzinfo is None:
        raise InvalidCursor("cursor is not one this service made")
    if made_for != fingerprint:
        raise InvalidCursor("cursor was made for another query or sort: start again without it")
    if not (_finite(score) if scored else score is None):
        raise InvalidCursor("cursor is not one this service made")
    return SearchPosition(None if score is None else float(score), moment, job_id)
