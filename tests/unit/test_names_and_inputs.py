"""Canonical names (user ids, album names) and the raw-body depth check."""

from __future__ import annotations

import json
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from nexus_image.domain.names import canonical_name
from nexus_image.entrypoints.http.inputs import nesting_depth_exceeds

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\x00", "\x07", "\x1b"]


@given(st.text())
def test_a_canonical_name_is_stable_composed_and_free_of_invisible_characters(text: str) -> None:
    name = canonical_name(text)
    assert canonical_name(name) == name
    assert unicodedata.is_normalized("NFC", name)
    assert name == name.strip() and "  " not in name
    assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in name)


@given(st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1), st.data())
def test_invisible_characters_and_spacing_do_not_make_another_name(word: str, data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(word)))
    noisy = " " + word[:at] + data.draw(st.sampled_from(INVISIBLE)) + word[at:] + "\t"
    assert canonical_name(noisy) == canonical_name(word)
    assert canonical_name(unicodedata.normalize("NFD", word)) == canonical_name(word)


@given(
    st.recursive(
        st.none() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    )
)
def test_the_depth_check_agrees_with_the_real_nesting(value: object) -> None:
    def depth(v: object) -> int:
        if isinstance(v, list):
            return 1 + max((depth(x) for x in v), default=0)
        if isinstance(v, dict):
            return 1 + max((depth(x) for x in v.values()), default=0)
        return 0

    body = json.dumps(value).encode()
    assert nesting_depth_exceeds(body, limit=3) == (depth(value) > 3)


def test_brackets_inside_strings_do_not_count() -> None:
    tricky = json.dumps({"prompt": 'brackets [[[[[[[[ {{{{{{ and a quote " [['})
    assert not nesting_depth_exceeds(tricky.encode(), limit=2)
    assert nesting_depth_exceeds(b"[" * 40 + b"]" * 40)
