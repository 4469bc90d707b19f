"""The search query of the domain: how its words are read, what it refuses, and its cursors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_image.domain.errors import InvalidValue
from nexus_image.domain.parameters import (
    LORA_NAME,
    MAX_SEED,
    MODEL_NAME,
    GenerationParameters,
    Kind,
    search_fields,
)
from nexus_image.domain.resolution import Resolution
from nexus_image.domain.search import (
    InvalidCursor,
    SearchPosition,
    SearchQuery,
    decode_cursor,
    encode_cursor,
    filter_names,
    search_terms,
)
from nexus_image.domain.styles import Style


def test_words_are_letters_and_digits_and_stop_words_match_only_inside_words() -> None:
    terms = {
        t.text: (t.whole_word, t.partial) for t in search_terms("The Fox's 3D-render, of a sky_line; ox THE")
    }
    assert terms == {
        "the": (False, True),  # a stop word: inside words only
        "fox": (True, True),
        "3d": (True, False),  # two characters: whole words only
        "render": (True, True),
        "sky": (True, True),
        "line": (True, True),
        "ox": (True, False),
    }  # "s", "of" and "a" match neither way: left out; "the" once


def test_a_query_refuses_what_no_store_could_answer() -> None:
    refusals = {
        "q": {"q": "x" * 201},
        "limit": {"limit": 0},
        "seed": {"seed": 2**32},
        "lora": {"lora": "../etc"},
        "model": {"model": "a b"},
        "created_to": {"created_from": "2026-03-02", "created_to": "2026-03-01T23:59:59Z"},
        "created_from": {"created_from": "2026-13-01"},
        "sort": {"sort": "relevance", "q": "the of a"},
    }
    for field, given_values in refusals.items():
        with pytest.raises(InvalidValue) as refused:
            SearchQuery.parse(**given_values)  # type: ignore[arg-type]
        assert refused.value.field == field
    with pytest.raises(InvalidValue) as many:
        SearchQuery.parse(q=" ".join(f"word{i}" for i in range(11)))
    assert many.value.field == "q"


def test_a_day_is_taken_whole_and_an_instant_without_a_zone_is_utc() -> None:
    query = SearchQuery.parse(created_from="2026-03-01", created_to="2026-03-01")
    assert query.created_from == datetime(2026, 3, 1, tzinfo=UTC)
    assert query.created_to == datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=UTC)
    later = SearchQuery.parse(created_from="2026-03-01T10:00:00+02:00", created_to="2026-03-01T10:00:00")
    assert later.created_from == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert later.created_to == datetime(2026, 3, 1, 10, tzinfo=UTC)


def test_a_cursor_round_trips_for_its_own_query_only() -> None:
    query = SearchQuery.parse(q="red foxes", sort="relevance")
    position = SearchPosition(0.0607927069067955, datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC), "job-7")
    cursor = encode_cursor(position, query.fingerprint("user:alice"))
    assert decode_cursor(cursor, query.fingerprint("user:alice"), scored=True) == position
    assert SearchQuery.parse(q="Red   FOXES!", sort="relevance").fingerprint(
        "user:alice"
    ) == query.fingerprint("user:alice")  # the same words
    for other in (
        query.fingerprint("user:bob"),
        query.fingerprint("gallery"),
        SearchQuery.parse(q="red foxes").fingerprint("user:alice"),
        SearchQuery.parse(q="red foxes", sort="relevance", style="anime").fingerprint("user:alice"),
    ):
        with pytest.raises(InvalidCursor, match="another query"):
            decode_cursor(cursor, other, scored=True)


def forged(**body: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "é",
        "x" * 2000,
        forged(f="f", s=None, a="2026-03-01T00:00:00+00:00"),
        forged(f="f", s=None, a="2026-03-01T00:00:00", i="job"),  # no zone
        forged(f="f", s=None, a="yesterday", i="job"),
        forged(f="f", s=None, a="2026-03-01T00:00:00+00:00", i="job\x00"),
        forged(f="f", s=None, a="2026-03-01T00:00:00+00:00", i=7),
        forged(f="f", s=1.5, a="2026-03-01T00:00:00+00:00", i="job"),  # a score where none belongs
        base64.urlsafe_b64encode(b"[" * 700).decode(),
    ],
)
def test_a_cursor_not_made_here_is_refused_as_such(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, "f", scored=False)


@pytest.mark.parametrize("score", [float("nan"), float("inf"), 10**400, True, "1", None])
def test_a_relevance_cursor_needs_a_finite_score(score: object) -> None:
    raw = json.dumps({"f": "f", "s": score, "a": "2026-03-01T00:00:00+00:00", "i": "job"}).encode()
    with pytest.raises(InvalidCursor):
        decode_cursor(base64.urlsafe_b64encode(raw).decode(), "f", scored=True)


@given(st.text(max_size=300))
def test_any_text_as_a_cursor_is_refused_never_raised_otherwise(text: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(text, "0123456789abcdef", scored=False)


def _as_typed(parameters: GenerationParameters, name: str) -> str:
    """A field's value as a person types it in a search (an adapter by its name)."""
    held = getattr(parameters, name)
    return str(held[0].name if isinstance(held, tuple) else held)


@given(
    style=st.sampled_from(Style),
    resolution=st.sampled_from(Resolution),
    seed=st.integers(0, MAX_SEED),
    model=st.from_regex(MODEL_NAME, fullmatch=True),
    lora=st.from_regex(LORA_NAME, fullmatch=True),
)
def test_an_image_is_found_by_each_searchable_value_it_holds_and_by_no_other(
    style: Style, resolution: Resolution, seed: int, model: str, lora: str
) -> None:
    image = GenerationParameters.create(
        prompt="a kite", style=style, resolution=resolution, seed=seed, model=model, loras=[{"name": lora}]
    )
    assert filter_names() == tuple(str(d.param.search) for d in search_fields())
    for described in search_fields():
        typed = _as_typed(image, described.name)
        filters: dict[str, Any] = {str(described.param.search): f" {typed} "}
        query = SearchQuery.parse(**filters)
        assert [f.field.name for f in query.filters] == [described.name]
        assert query.filters[0].keeps(image), (described.name, typed)
        other = GenerationParameters.create(
            prompt="a kite",
            style=next(s for s in Style if s is not style),
            resolution=next(r for r in Resolution if r is not resolution),
            seed=(seed + 1) % (MAX_SEED + 1),
            model=model + "x" if len(model) < 64 else "m",
            loras=[{"name": lora + "x" if len(lora) < 100 else "l"}],
        )
        assert not query.filters[0].keeps(other), (described.name, typed)


def test_filters_are_the_searchable_fields_and_none_is_named_twice() -> None:
    kinds = {str(d.param.search): d.param.kind for d in search_fields()}
    assert kinds == {
        "style": Kind.CHOICE,
        "model": Kind.MODEL,
        "resolution": Kind.CHOICE,
        "seed": Kind.INTEGER,
        "lora": Kind.ADAPTERS,
    }
    assert SearchQuery.parse(seed="12", style="", lora=None).filters[0].value == 12
    with pytest.raises(InvalidValue) as refused:
        SearchQuery.parse(seed="twelve")
    assert refused.value.field == "seed"
    with pytest.raises(TypeError):
        SearchQuery.parse(steps="20")  # not a filter
    first = SearchQuery.parse(q="kite", seed=1)
    assert first.fingerprint("alice") != SearchQuery.parse(q="kite", seed=2).fingerprint("alice")
    assert first.fingerprint("alice") == SearchQuery.parse(q="kite", seed="1").fingerprint("alice")
