"""Dynamic prompts: variants, picks, ranges, weights, wildcards and escapes expand the same way
for the same seed, differently across a request's seeds, always into one of the listed
expansions; text without the syntax (A1111's own included) is left as it is."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_image.domain.dynamic_prompt_syntax import MAX_DEPTH
from nexus_image.domain.dynamic_prompts import (
    all_words,
    expand,
    expansions,
    has_dynamic_syntax,
    parse,
)
from nexus_image.domain.errors import InvalidTemplate, InvalidValue, UnknownWildcard
from nexus_image.domain.parameters import MAX_PROMPT_LENGTH, MAX_SEED

WILDCARDS = {
    "colors": ["red", "blue", "{light|dark} green"],
    "animals/cats": ["tabby", "siamese __colors__"],
    "animals/dogs": ["pug"],
    "empty": [],
}
seeds = st.integers(0, MAX_SEED)
words = st.text(alphabet="abcdefgh ", max_size=6)
word = st.text(alphabet="abcdefgh", min_size=1, max_size=6)


def counts(n: int) -> st.SearchStrategy[str]:
    """Every way of saying how many of `n` options to take."""
    bounds = st.tuples(st.integers(0, n), st.integers(0, n)).map(sorted)
    return st.one_of(
        st.just(""),
        st.integers(0, n).map(lambda k: f"{k}$$"),
        bounds.map(lambda b: f"{b[0]}-{b[1]}$$"),
        st.integers(1, n).map(lambda k: f"-{k}$$"),
        st.integers(1, n).map(lambda k: f"{k}-$$"),
        st.integers(0, n).map(lambda k: f"{k}$$ and $$"),
    )


def choice(options: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    weighted = st.tuples(st.sampled_from(["", "2::", "0.5::"]), options).map("".join)
    return st.lists(weighted, min_size=1, max_size=4).flatmap(
        lambda opts: counts(len(opts)).map(lambda count: "{" + count + "|".join(opts) + "}")
    )


def templates(joiner: str) -> st.SearchStrategy[str]:
    """Templates of nested choices and wildcards; `joiner` between the parts of a sequence."""
    leaves = st.one_of(words, st.sampled_from(["__colors__", "__animals/*__", "__animals/cats__"]))
    return st.recursive(
        leaves,
        lambda inner: st.one_of(choice(inner), st.lists(inner, min_size=1, max_size=3).map(joiner.join)),
        max_leaves=10,
    )


@settings(max_examples=200, deadline=None)
@given(templates(""), seeds)
def test_an_expansion_depends_only_on_the_template_and_the_seed(template: str, seed: int) -> None:
    first = expand(template, seed, WILDCARDS)
    assert expand(template, seed, WILDCARDS) == first
    assert first == " ".join(first.split())


@settings(max_examples=200, deadline=None)
@given(templates(""), seeds)
def test_every_expansion_is_one_of_those_listed(template: str, seed: int) -> None:
    listed = expansions(template, WILDCARDS, limit=4096)
    if listed is not None:
        assert expand(template, seed, WILDCARDS) in listed
        assert len(listed) == len(set(listed))


@settings(max_examples=200, deadline=None)
@given(templates(" "), seeds)
def test_the_words_of_every_option_hold_every_word_of_an_expansion(template: str, seed: int) -> None:
    union = set(re.findall(r"[a-z]+", all_words(template, WILDCARDS)))
    assert set(re.findall(r"[a-z]+", expand(template, seed, WILDCARDS))) <= union


@settings(max_examples=100, deadline=None)
@given(st.lists(word, min_size=2, max_size=6, unique=True), st.integers(0, MAX_SEED - 32))
def test_the_seeds_of_one_request_give_different_expansions(options: list[str], seed: int) -> None:
    template = "a {" + "|".join(options) + "} car"
    assert len({expand(template, seed + i) for i in range(32)}) > 1


@settings(max_examples=200, deadline=None)
@given(
    st.lists(word, min_size=1, max_size=8, unique=True).flatmap(
        lambda opts: st.tuples(st.just(opts), st.integers(0, len(opts)))
    ),
    seeds,
)
def test_a_pick_of_n_gives_n_distinct_options_in_their_written_order(
    picked: tuple[list[str], int], seed: int
) -> None:
    options, n = picked
    text = expand("{" + f"{n}$$" + "|".join(options) + "}", seed)
    chosen = text.split(", ") if text else []
    assert len(chosen) == len(set(chosen)) == n
    assert chosen == [o for o in options if o in chosen]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(word, min_size=1, max_size=6, unique=True).flatmap(
        lambda opts: st.tuples(st.just(opts), counts(len(opts)))
    ),
    seeds,
)
def test_a_range_takes_a_number_of_options_within_it(picked: tuple[list[str], str], seed: int) -> None:
    options, count = picked
    text = expand("{" + count + "|".join(options) + "}", seed)
    taken = len(re.split(r", | and ", text)) if text else 0
    exact = re.fullmatch(r"(\d+)\$\$.*", count)
    low, high = (int(exact[1]),) * 2 if exact else (1, 1)
    if bounds := re.fullmatch(r"(\d*)-(\d*)\$\$", count):
        low, high = int(bounds[1] or 1), int(bounds[2] or len(options))
    assert low <= taken <= high


@given(st.text(alphabet="abc {}|", max_size=40), seeds)
def test_escaped_braces_and_bars_are_the_characters_themselves(text: str, seed: int) -> None:
    escaped = re.sub(r"([{}|])", r"\\\1", text)
    assert expand(escaped, seed) == " ".join(text.split())


@settings(max_examples=300)
@given(st.text(max_size=MAX_PROMPT_LENGTH), seeds)
def test_text_without_the_syntax_only_has_its_spaces_tidied(text: str, seed: int) -> None:
    if not has_dynamic_syntax(text):
        assert expand(text, seed) == " ".join(text.split())
        assert expansions(text) == [" ".join(text.split())]


@pytest.mark.parametrize(
    "text",
    [
        "(masterpiece:1.2), [blurry], ((detailed)) BREAK a [cat|dog] [day:night:0.5] <lora:ink:0.8>",
        "a cat AND a dog, snake_case, a_b__c, ___, $$ 2$$ 0.5::x",
    ],
)
def test_a1111_prompt_syntax_passes_through(text: str) -> None:
    assert not has_dynamic_syntax(text)
    assert expand(text, 7) == text


def test_examples() -> None:
    assert expansions("a {red|blue} car") == ["a blue car", "a red car"]
    assert expansions("{2$$a|b|c}") == ["a, b", "a, c", "b, c"]
    assert expansions("{2$$ and $$a|b|c}") == ["a and b", "a and c", "b and c"]
    assert expansions("{1-3$$a|b|c}") == ["a", "a, b", "a, b, c", "a, c", "b", "b, c", "c"]
    assert expansions("{-2$$a|b}") == ["a", "a, b", "b"]
    assert expansions("{2-$$a|b|c}") == ["a, b", "a, b, c", "a, c", "b, c"]
    assert expansions("{a {x|y}|b} car") == ["a x car", "a y car", "b car"]
    assert expansions("{0::a|b}") == ["b"]
    assert expansions("x {|big} y") == ["x big y", "x y"]
    assert expansions("{(red:1.2)|[blue\\|green]}") == ["(red:1.2)", "[blue|green]"]


def test_wildcards_from_files_with_subfolders_patterns_and_picks() -> None:
    assert expansions("__colors__", WILDCARDS) == ["blue", "dark green", "light green", "red"]
    assert expansions("__animals/*__", WILDCARDS, limit=4) is None
    assert "siamese red" in (expansions("__animals/*__", WILDCARDS) or [])
    picks = expansions("{2$$__colors__}", WILDCARDS) or []
    assert "red, blue" in picks and "red, dark green" in picks and len(picks) == 5


def test_weights_tilt_the_draws() -> None:
    drawn = [expand("{9::a|b}", seed) for seed in range(400)]
    assert 300 < drawn.count("a") < 400


def test_too_many_expansions_are_not_listed_but_all_words_holds_them() -> None:
    template = " ".join(f"{{a{i}|b{i}}}" for i in range(9))  # 512 expansions
    assert expansions(template) is None
    assert len(expansions(template, limit=512) or []) == 512
    assert set(all_words(template).split()) == {f"{x}{i}" for x in "ab" for i in range(9)}


def test_all_words_glues_options_to_the_text_they_touch() -> None:
    assert "nude" in all_words("nu{d|x}e").split()
    assert "dark green" in all_words("__colors__", WILDCARDS)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("a {red|blue", "unbalanced '{' at character 3"),
        ("a red}", "unbalanced '}' at character 6"),
        ("{3$$a|b}", "asks for 3 distinct options but has 2"),
        ("{3-2$$a|b|c}", "3 to 2"),
        ("{0::a}", "weight above 0"),
        ("__empty__", "no lines"),
        ("__a/../colors__", "not a wildcard name"),
        ("{" * 500 + "}" * 500, f"more than {MAX_DEPTH} deep"),
    ],
)
def test_broken_templates_are_refused_naming_the_field(template: str, message: str) -> None:
    with pytest.raises(InvalidTemplate, match=re.escape(message)) as refused:
        expand(template, 1, WILDCARDS, field="negative_prompt")
    assert refused.value.field == "negative_prompt"
    assert isinstance(refused.value, InvalidValue)


def test_an_unknown_wildcard_is_named_with_some_that_exist() -> None:
    with pytest.raises(UnknownWildcard, match="__colours__") as refused:
        expand("a __colours__ car", 1, WILDCARDS)
    assert refused.value.field == "prompt"
    assert refused.value.allowed[0] == "colors"
    assert "known: colors" in refused.value.message


def test_wildcards_that_include_themselves_or_nest_too_deep_are_refused() -> None:
    with pytest.raises(InvalidTemplate, match="includes itself"):
        expand("__a__", 1, {"a": ["x", "__b__"], "b": ["__a__"]})
    chain = {f"w{i}": [f"__w{i + 1}__"] for i in range(MAX_DEPTH + 4)} | {f"w{MAX_DEPTH + 4}": ["end"]}
    with pytest.raises(InvalidTemplate, match="nested more than"):
        expand("__w0__", 1, chain)
    shallow = {f"w{i}": [f"__w{i + 1}__"] for i in range(MAX_DEPTH - 1)} | {f"w{MAX_DEPTH - 1}": ["end"]}
    assert expand("__w0__", 1, shallow) == "end"


def test_an_expansion_longer_than_a_prompt_may_be_is_refused() -> None:
    long = "{" + "a" * 600 + "|" + "b" * 600 + "}"
    assert len(expand(long, 1)) == 600
    with pytest.raises(InvalidTemplate, match=f"1201 characters with seed 1; at most {MAX_PROMPT_LENGTH}"):
        expand(long + " " + long, 1)
    # Files that include others several times grow as a power: drawing stops early.
    doubling = {f"w{i}": [f"__w{i + 1}__ __w{i + 1}__"] for i in range(MAX_DEPTH - 1)} | {
        f"w{MAX_DEPTH - 1}": ["x"]
    }
    with pytest.raises(InvalidTemplate, match="more than 16000 characters"):
        expand("__w0__", 1, doubling)


def test_a_template_is_read_once_for_several_seeds() -> None:
    template = parse("a {red|blue|green} __colors__", WILDCARDS)
    assert [template.expand(s) for s in range(3)] == [
        expand(template.template, s, WILDCARDS) for s in range(3)
    ]


def test_has_dynamic_syntax() -> None:
    assert has_dynamic_syntax("a {b|c}")
    assert has_dynamic_syntax("a __colors__")
    assert has_dynamic_syntax("a \\| b")
    assert not has_dynamic_syntax("a (b:1.2) [c|d] __")
