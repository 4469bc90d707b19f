"""Search over jobs held in memory, with the rules of domain.search: the same matches, filters
and orders as the SQL stores. Stemming is a small suffix stripper (plurals, -ing, -ed), which
agrees with the Porter and Snowball stemmers of the databases on everyday words."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from nexus_image.domain.job import ImageJob, JobStatus
from nexus_image.domain.search import SearchPage, SearchPosition, SearchQuery, SearchSort, words_of

_VOWELS = frozenset("aeiouy")
_UNDOUBLED = frozenset("lsz")  # "falling" stays "fall", not "fal" (Porter's rule)


def stem(word: str) -> str:
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "i"
    elif len(w) > 3 and w.endswith("es") and (w[-3] in "sxz" or w[-4:-2] in ("ch", "sh")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ed"):
        base = w[: -len(suffix)]
        if w.endswith(suffix) and len(base) >= 3 and _VOWELS & set(base):
            w = base[:-1] if len(base) > 3 and base[-1] == base[-2] and base[-1] not in _UNDOUBLED else base
            break
    if len(w) > 2 and w.endswith("y") and w[-2] not in _VOWELS:
        w = w[:-1] + "i"
    return w


def _mode(job: ImageJob) -> str:
    return job.parameters.mode.value


def _date(job: ImageJob, gallery: bool) -> datetime:
    return (job.completed_at or job.created_at) if gallery else job.created_at


@dataclass(frozen=True, slots=True)
class _Scored:
    job: ImageJob
    position: SearchPosition


def search_jobs(
    jobs: Iterable[ImageJob],
    owner: str | None,
    query: SearchQuery,
    favorites: set[str],
    album_images: set[str] | None,
) -> SearchPage:
    """`favorites`: the ids of the owner's favorites; `album_images`: those of the album named
    by the query (the caller checked it is the owner's), None without one."""
    gallery = owner is None
    found: list[_Scored] = []
    for job in jobs:
        if not _in_scope(job, owner) or not _filtered(job, query, favorites, album_images, gallery):
            continue
        score = _score(job, query)
        if score is None:
            continue
        relevance = score if query.sort is SearchSort.RELEVANCE else None
        found.append(_Scored(job, SearchPosition(relevance, _date(job, gallery), job.id)))
    found.sort(key=lambda s: (s.position.score or 0.0, s.position.at, s.position.id), reverse=True)
    if query.after is not None:
        after = query.after
        mark = (after.score or 0.0, after.at, after.id)
        found = [s for s in found if (s.position.score or 0.0, s.position.at, s.position.id) < mark]
    page = found[: query.limit]
    more = len(found) > query.limit
    return SearchPage([s.job for s in page], page[-1].position if more else None)


def _in_scope(job: ImageJob, owner: str | None) -> bool:
    if job.data_removed:  # a tombstone: retention removed its files
        return False
    if owner is None:
        return job.is_public and job.status is JobStatus.COMPLETED
    return job.user_id == owner


def _filtered(
    job: ImageJob, query: SearchQuery, favorites: set[str], album_images: set[str] | None, gallery: bool
) -> bool:
    checks = (
        all(found.keeps(job.parameters) for found in query.filters),
        query.created_from is None or job.created_at >= query.created_from,
        query.created_to is None or job.created_at <= query.created_to,
        query.public is None or job.is_public == query.public,
        query.mode is None or _mode(job) == query.mode.value,
        gallery or query.favorite is None or (job.id in favorites) == query.favorite,
        gallery or album_images is None or job.id in album_images,
    )
    return all(checks)


def _score(job: ImageJob, query: SearchQuery) -> float | None:
    """None when a word of the query does not match; else how many times the query's words
    appear, by stem, among the prompt's words (the relevance)."""
    text = job.parameters.prompt.lower()
    stems = [stem(word) for word in words_of(text)]
    score = 0.0
    for term in query.terms:
        hits = stems.count(stem(term.text)) if term.whole_word else 0
        if not hits and not (term.partial and term.text in text):
            return None
        score += hits
    return score
