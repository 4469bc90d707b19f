"""Search, the same on every store: words by their other forms and by their parts, filters that
combine, nobody else's private image, and pages that follow each other by cursor."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from nexus_image.application.errors import NotFound
from nexus_image.application.search import SearchImages
from nexus_image.domain import Album, GenerationParameters, ImageJob, JobStatus
from nexus_image.domain.search import InvalidCursor, SearchQuery
from nexus_image.testing import InMemoryStorage
from tests.support.builders import T0, make_job

from .conftest import Backend


def job(
    job_id: str, prompt: str, minutes: int, user: str = "alice", done: bool = True, **fields: Any
) -> ImageJob:
    """A job created `minutes` after T0 with `prompt`; COMPLETED a minute later unless not `done`."""
    settings = {"seed": 7, **{k: fields.pop(k) for k in list(fields) if k in SETTINGS}}
    found = make_job(
        job_id,
        user,
        timedelta(minutes=minutes),
        parameters=GenerationParameters.create(prompt=prompt, **settings),
    )
    if done:
        found.status = JobStatus.COMPLETED
        found.completed_at = found.created_at + timedelta(minutes=1)
        found.image_key, found.thumbnail_key = f"i/{job_id}.png", f"t/{job_id}.webp"
    for name, value in fields.items():
        setattr(found, name, value)
    return found


SETTINGS = {"style", "model", "loras", "resolution", "seed", "init_image_id", "mask_image_id"}


def store(backend: Backend, *jobs: ImageJob) -> None:
    with backend.uow_factory() as uow:
        for one in jobs:
            uow.jobs.add(one)
        uow.commit()


def ids(backend: Backend, owner: str | None = "alice", **given: Any) -> list[str]:
    with backend.uow_factory() as uow:
        return [j.id for j in uow.jobs.search(owner, SearchQuery.parse(**given)).items]


WORDS = (
    job("fox-run", "A red Fox running through the snow", 1),
    job("foxes", "two foxes at dawn", 2),
    job("dragon", "a dragon over the castle", 3),
    job("dragonfly", "a dragonfly on a pond", 4),
    job("heron", "a heron, standing", 5),
)


def test_words_match_their_other_forms_and_parts_of_words_all_of_them(backend: Backend) -> None:
    store(backend, *WORDS)
    assert ids(backend, q="fox") == ["foxes", "fox-run"]  # newest first
    assert ids(backend, q="foxes") == ["foxes", "fox-run"]
    assert ids(backend, q="runs") == ids(backend, q="running") == ["fox-run"]
    assert ids(backend, q="drag") == ["dragonfly", "dragon"]  # the start of a word
    assert ids(backend, q="agon") == ["dragonfly", "dragon"]  # inside a word
    assert ids(backend, q="FOX  snow!") == ["fox-run"]  # every word, any case, punctuation ignored
    assert ids(backend, q="dragon castle") == ["dragon"]
    assert ids(backend, q="a fox") == ids(backend, q="fox")  # a short stop word is left out
    assert ids(backend, q="ox") == []  # two letters: whole words only
    assert ids(backend, q="herons standing") == ["heron"]
    assert ids(backend, q="zebra") == ids(backend, q="fox zebra") == []
    assert ids(backend, q="") == ["heron", "dragonfly", "dragon", "foxes", "fox-run"]


def test_relevance_puts_whole_and_repeated_words_before_parts_of_words(backend: Backend) -> None:
    store(
        backend,
        job("twice", "a dragon and another dragon", 1),
        job("once", "a dragon in the mist", 2),
        job("part", "a dragonfly in the mist", 3),
    )
    assert ids(backend, q="dragon", sort="relevance") == ["twice", "once", "part"]
    assert ids(backend, q="dragon") == ["part", "once", "twice"]


def test_filters_combine_and_each_keeps_only_what_it_names(backend: Backend) -> None:
    store(
        backend,
        job("anime", "a castle", 1, style="anime", seed=42, resolution="768x768", is_public=True),
        job(
            "real",
            "a castle",
            2,
            style="realistic",
            seed=42,
            model="sd15",
            loras=[{"name": "ink", "weight": 0.5}],
        ),
        job("sketch", "a castle", 3, style="sketch", seed=9, init_image_id="up-1", is_public=True),
        job(
            "inpaint", "a castle", 4, init_image_id="up-1", mask_image_id="up-2", loras=[{"name": "inkwell"}]
        ),
        job("other", "a lake", 5, style="anime", seed=42),
    )
    assert ids(backend, style="anime") == ["other", "anime"]
    assert ids(backend, style="anime", q="castle") == ["anime"]
    assert ids(backend, seed=42) == ["other", "real", "anime"]
    assert ids(backend, seed=42, resolution="768x768") == ["anime"]
    assert ids(backend, model="sd15") == ["real"]
    assert ids(backend, lora="ink") == ["real"]  # the adapter's whole name
    assert ids(backend, lora="inkwell") == ["inpaint"]
    assert ids(backend, public=True) == ["sketch", "anime"]
    assert ids(backend, public=False, seed=42) == ["other", "real"]
    assert ids(backend, mode="img2img") == ["sketch"]
    assert ids(backend, mode="inpaint") == ["inpaint"]
    assert ids(backend, mode="txt2img", style="anime") == ["other", "anime"]
    day = T0.date().isoformat()
    assert ids(backend, created_from=(T0 + timedelta(minutes=2)).isoformat(), created_to=day) == [
        "other",
        "inpaint",
        "sketch",
        "real",
    ]
    assert ids(backend, created_to=(T0 + timedelta(minutes=2)).isoformat()) == ["real", "anime"]  # inclusive
    assert ids(backend, created_from=(T0 + timedelta(days=1)).date().isoformat()) == []


def test_favorites_and_albums_are_the_callers_own(backend: Backend) -> None:
    store(
        backend,
        job("mine", "a red kite", 1),
        job("liked", "a red kite at sea", 2),
        job("bobs", "a red kite", 3, user="bob", is_public=True),
    )
    with backend.uow_factory() as uow:
        uow.favorites.add("alice", "liked", T0)
        uow.favorites.add("alice", "bobs", T0)  # somebody else's public image
        uow.albums.add(Album("album-a", "alice", "Kites", T0, ["mine"]))
        uow.albums.add(Album("album-b", "bob", "Bob's", T0, ["bobs"]))
        uow.commit()
    assert ids(backend, favorite=True) == ["liked"]  # not bob's image: own images only
    assert ids(backend, favorite=False) == ["mine"]
    assert ids(backend, album="album-a") == ["mine"]
    assert ids(backend, album="album-a", q="sea") == []
    assert ids(backend, album="album-b") == []  # the store keeps it to the owner's albums too
    search = SearchImages(backend.uow_factory, InMemoryStorage())
    assert [v.id for v in search.mine("alice", SearchQuery.parse(album="album-a")).items] == ["mine"]
    for album in ("album-b", "no-such-album", "../x"):
        with pytest.raises(NotFound) as refused:
            search.mine("alice", SearchQuery.parse(album=album))
        assert str(refused.value) == f"album {album} not found"  # bob's: exactly like a missing one
    liked = search.mine("alice", SearchQuery.parse(q="kite")).items
    assert [(v.id, v.is_favorite) for v in liked] == [("liked", True), ("mine", False)]


def test_nobody_elses_private_image_shows_and_the_gallery_has_public_completed_ones(backend: Backend) -> None:
    store(
        backend,
        job("alice-private", "a secret garden", 1),
        job("alice-public", "a public garden", 2, is_public=True),
        job("bob-private", "a secret garden", 3, user="bob"),
        job("bob-public", "a garden party", 4, user="bob", is_public=True),
        job("bob-queued", "a garden still queued", 5, user="bob", is_public=True, done=False),
    )
    assert ids(backend, "alice", q="garden") == ["alice-public", "alice-private"]
    assert ids(backend, "bob", q="secret") == ["bob-private"]
    assert ids(backend, None, q="garden") == ["bob-public", "alice-public"]
    assert ids(backend, None, q="secret") == ids(backend, None, public=False) == []
    with backend.uow_factory() as uow:
        uow.favorites.add("alice", "bob-private", T0)  # made before bob took it back, say
        uow.commit()
    assert "bob-private" not in ids(backend, "alice", favorite=True)
    search = SearchImages(backend.uow_factory, InMemoryStorage())
    assert [v.id for v in search.gallery(SearchQuery.parse(q="gard")).items] == ["bob-public", "alice-public"]


@pytest.mark.parametrize("sort", ["date", "relevance"])
def test_pages_follow_each_other_by_cursor_without_gaps_or_repeats(backend: Backend, sort: str) -> None:
    prompts = ["a moth", "a moth, a moth", "a moth at night", "moths", "a mothership", "a moth and a moth"]
    made = [job(f"m{i}", prompt, minutes=i // 2) for i, prompt in enumerate(prompts)]  # pairs share a time
    store(backend, *made, job("zebra", "a zebra", 9))
    search = SearchImages(backend.uow_factory, InMemoryStorage())
    query = SearchQuery.parse(q="moth", sort=sort, limit=4)
    whole = search.mine("alice", SearchQuery.parse(q="moth", sort=sort, limit=10))
    assert whole.next_cursor is None and len(whole.items) == 6
    first = search.mine("alice", query)
    assert first.next_cursor is not None
    second = search.mine("alice", SearchQuery.parse(q="moth", sort=sort, limit=2), first.next_cursor)
    assert [v.id for v in first.items + second.items] == [v.id for v in whole.items]
    assert second.next_cursor is None
    if sort == "date":
        assert [v.id for v in whole.items] == ["m5", "m4", "m3", "m2", "m1", "m0"]  # ties by id
    for other in (
        SearchQuery.parse(q="moths", sort=sort),
        SearchQuery.parse(q="moth", style="anime", sort=sort),
    ):
        with pytest.raises(InvalidCursor):
            search.mine("alice", other, first.next_cursor)
    with pytest.raises(InvalidCursor):
        search.gallery(query, first.next_cursor)  # another scope
    with pytest.raises(InvalidCursor):
        search.mine("bob", query, first.next_cursor)


def test_a_deleted_image_is_no_longer_found(backend: Backend) -> None:
    store(backend, *WORDS[:2])
    with backend.uow_factory() as uow:
        uow.jobs.delete("foxes")
        uow.commit()
    assert ids(backend, q="fox") == ["fox-run"]
    store(backend, job("foxes", "a fox again", 9))  # the same id, another prompt
    assert ids(backend, q="two") == [] and ids(backend, q="again") == ["foxes"]
