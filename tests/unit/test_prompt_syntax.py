"""AUTOMATIC1111's prompt syntax: weights, escapes, unbalanced brackets and BREAK."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_image.domain.prompt_syntax import BREAK, ROUND, SQUARE, Segment, escape, parse, plain_text

# Text with no bracket, no backslash and no BREAK word: it has no syntax at all.
plain = st.text(st.characters(exclude_characters="()[]\\", exclude_categories=["Cs"])).filter(
    lambda text: "BREAK" not in text
)
words = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=12).filter(
    lambda text: "BREAK" not in text
)
weights = st.floats(min_value=-10, max_value=10, allow_nan=False).map(lambda w: round(w, 3))


@given(plain)
def test_text_without_syntax_is_one_segment_of_itself_at_weight_one(text: str) -> None:
    assert parse(text) == ((Segment(text, 1.0),) if text else ())


@given(plain, words, plain)
def test_a_weight_of_one_is_the_same_as_no_brackets(before: str, word: str, after: str) -> None:
    assert parse(f"{before}({word}:1.0){after}") == parse(before + word + after)


@given(st.text(st.characters(exclude_categories=["Cs"])).filter(lambda text: "BREAK" not in text))
def test_escaped_text_parses_back_to_itself(text: str) -> None:
    assert "".join(segment.text for segment in parse(escape(text))) == text
    assert all(segment.weight == 1.0 for segment in parse(escape(text)))


@given(words, weights, st.lists(st.sampled_from("()[]"), max_size=6))
def test_nested_brackets_multiply(word: str, weight: float, wrappers: list[str]) -> None:
    text, expected = f"({word}:{weight})", weight
    for bracket in wrappers:  # applied innermost first, as the closing brackets are read
        text = f"({text})" if bracket in "()" else f"[{text}]"
        expected *= ROUND if bracket in "()" else SQUARE
    (segment,) = parse(text)
    assert segment.text == word and segment.weight == expected


@given(st.text())
def test_any_text_parses_and_keeps_every_word(text: str) -> None:
    segments = parse(text)
    assert all(segment.text == "" for segment in segments if segment.brk)
    kept = "".join(segment.text for segment in segments)
    assert len(kept) <= len(text)
    plain_text(text)  # never raises either


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a (red:1.25) fox", (Segment("a "), Segment("red", 1.25), Segment(" fox"))),
        ("(cat:-0.5)", (Segment("cat", -0.5),)),
        ("(a) [b]", (Segment("a", ROUND), Segment(" "), Segment("b", SQUARE))),
        ("((a))", (Segment("a", ROUND * ROUND),)),
        ("(a (b:2))", (Segment("a ", ROUND), Segment("b", 2 * ROUND))),
        ("a (b c", (Segment("a "), Segment("b c", ROUND))),  # an unclosed bracket runs to the end
        ("a [b", (Segment("a "), Segment("b", SQUARE))),
        ("a) b]", (Segment("a) b]"),)),  # stray closing brackets are text
        (r"\(a\) \[b\] c\\d", (Segment(r"(a) [b] c\d"),)),
        (r"(\(a\):1.5)", (Segment("(a)", 1.5),)),
        (r"a\b", (Segment(r"a\b"),)),  # a backslash before anything else is itself
        ("a:1.2) (b:x)", (Segment("a:1.2) "), Segment("b:x", ROUND))),  # not a weight: text
        ("(a:1.2.3)", (Segment("a:1.2.3", ROUND),)),
        ("(a: 1.5 )", (Segment("a", 1.5),)),
        ("a BREAK b", (Segment("a"), BREAK, Segment("b"))),
        ("(a BREAK b:2)", (Segment("a", 2.0), BREAK, Segment("b", 2.0))),  # a break inside brackets
        ("BREAK a", (BREAK, Segment("a"))),
        ("aBREAK break BREAKS", (Segment("aBREAK break BREAKS"),)),  # only the upper-case word
        ("(a:" + "9" * 400 + ")", (Segment("a:" + "9" * 400, ROUND),)),  # no float that large
    ],
)
def test_examples(text: str, expected: tuple[Segment, ...]) -> None:
    assert parse(text) == expected


def test_plain_text_is_the_words_without_the_syntax() -> None:
    assert plain_text("RAW photo, ((a red:1.3) fox) BREAK [blurry]") == "RAW photo, a red fox blurry"
    assert plain_text(r"\(a\)   b") == "(a) b"
