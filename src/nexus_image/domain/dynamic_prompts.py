"""Dynamic prompts: `a {red|blue} car`, `{2$$a|b|c}` (two distinct, joined by ", "), `{1-3$$…}`,
`{-2$$…}` (one or two), `{2-$$…}` (two or more), `{2$$ and $$…}` (another separator),
`{0.5::a|b}` (weights), nesting, and `__name__` wildcards (a line of the operator's file
`name.txt`, itself a template); `\\{`, `\\}` and `\\|` are the characters themselves.

The same template and seed always give the same text; the seeds of one request (seed, seed + 1,
…) give their own. A template is judged by what it can become: every expansion when there are
few (`expansions`), else one text holding every option (`all_words`)."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from nexus_image.domain.dynamic_prompt_syntax import (
    WILDCARD,
    Choice,
    Parser,
    Part,
    WildcardSource,
    WildcardTable,
)
from nexus_image.domain.errors import InvalidTemplate
from nexus_image.domain.parameters import MAX_PROMPT_LENGTH

__all__ = [
    "EXPANSION_LIMIT",
    "DynamicPrompt",
    "WildcardSource",
    "all_words",
    "expand",
    "expansions",
    "has_dynamic_syntax",
    "parse",
]

EXPANSION_LIMIT = 256
RAW_LENGTH_LIMIT = 16 * MAX_PROMPT_LENGTH  # before spaces are tidied: where drawing stops
WORK_PER_EXPANSION = 64  # how much listing may try per expansion allowed before it gives up
Wildcards = Mapping[str, Sequence[str]] | WildcardSource | None

_SYNTAX = re.compile(r"[{}]|\\[{}|]|" + WILDCARD.pattern)


def has_dynamic_syntax(text: str) -> bool:
    """Whether `text` has choices, wildcards or escapes (else expanding only tidies spaces)."""
    return _SYNTAX.search(text) is not None


def _tidy(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class DynamicPrompt:
    """A template read once (with the wildcards it reaches), for the field it was written in."""

    template: str
    root: Part
    field: str = "prompt"

    def expand(self, seed: int) -> str:
        """One expansion, the same for the same seed; longer than a prompt may be: refused."""
        text: str | None
        try:
            text = _tidy(_Drawing(random.Random(seed)).part(self.root))
        except _TooLong:
            text = None
        if text is None or len(text) > MAX_PROMPT_LENGTH:
            size = f"more than {RAW_LENGTH_LIMIT}" if text is None else str(len(text))
            raise InvalidTemplate(
                self.field,
                f"{self.field} expands to {size} characters with seed {seed}; at most {MAX_PROMPT_LENGTH}",
            )
        return text

    def expansions(self, limit: int = EXPANSION_LIMIT) -> list[str] | None:
        """Every distinct expansion, sorted, when there are at most `limit`; None when there are
        more (or too many to tell quickly)."""
        try:
            found = _Lister(limit).part(self.root)
        except _TooMany:
            return None
        tidy = sorted({_tidy(text) for text in found})
        return tidy if len(tidy) <= limit else None

    def all_words(self) -> str:
        """Every option of every choice in one text (each also glued to the text touching it,
        so that `nu{d|x}e` holds `nude`): what to judge when there are too many expansions."""
        return _tidy(_words(self.root, set()))


def parse(template: str, wildcards: Wildcards = None, field: str = "prompt") -> DynamicPrompt:
    """The template read, or InvalidTemplate / UnknownWildcard naming `field`."""
    source = wildcards if wildcards is not None else {}
    table = WildcardTable(source) if isinstance(source, Mapping) else source
    return DynamicPrompt(template, Parser(table, field).template(template), field)


def expand(template: str, seed: int, wildcards: Wildcards = None, field: str = "prompt") -> str:
    return parse(template, wildcards, field).expand(seed)


def expansions(
    template: str, wildcards: Wildcards = None, limit: int = EXPANSION_LIMIT, field: str = "prompt"
) -> list[str] | None:
    return parse(template, wildcards, field).expansions(limit)


def all_words(template: str, wildcards: Wildcards = None, field: str = "prompt") -> str:
    return parse(template, wildcards, field).all_words()


# --- one expansion ---------------------------------------------------------------------------


class _TooLong(Exception):
    pass


class _Drawing:
    """One expansion, drawn depth first in the order written. It stops early once far too
    long: wildcards that include others several times can grow without bound."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.written = 0

    def _write(self, text: str) -> str:
        self.written += len(text)
        if self.written > RAW_LENGTH_LIMIT:
            raise _TooLong
        return text

    def part(self, part: Part) -> str:
        return "".join(self._write(node) if isinstance(node, str) else self.pick(node) for node in part)

    def pick(self, choice: Choice) -> str:
        # Only `random()` is drawn, whose sequence Python keeps stable across versions.
        count = choice.low
        if choice.high > choice.low:
            count += int(self.rng.random() * (choice.high - choice.low + 1))
        pool = list(range(len(choice.options)))
        chosen = [pool.pop(_draw(pool, choice.weights, self.rng)) for _ in range(count)]
        texts = [self.part(choice.options[j]).strip() for j in sorted(chosen)]
        self._write(choice.separator * max(0, len(texts) - 1))
        return choice.separator.join(texts)


def _draw(pool: list[int], weights: tuple[float, ...], rng: random.Random) -> int:
    """Where in `pool` a weighted draw lands (past the end, by rounding: the last one)."""
    left = rng.random() * sum(weights[j] for j in pool)
    for position, j in enumerate(pool):
        left -= weights[j]
        if left < 0:
            return position
    return len(pool) - 1


# --- every expansion -------------------------------------------------------------------------


class _TooMany(Exception):
    pass


class _Lister:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.work = 0
        self.seen: dict[Choice, set[str]] = {}

    def _step(self, size: int) -> None:
        self.work += 1
        if size > self.limit or self.work > self.limit * WORK_PER_EXPANSION:
            raise _TooMany

    def part(self, part: Part) -> set[str]:
        # Each longer prefix has at least as many distinct texts: past the limit, stop.
        texts = {""}
        for node in part:
            texts = self._joined(texts, {node} if isinstance(node, str) else self.choice(node), "")
        return texts

    def _joined(self, left: set[str], right: set[str], separator: str) -> set[str]:
        out: set[str] = set()
        for a in left:
            for b in right:
                out.add(a + separator + b)
                self._step(len(out))
        return out

    def choice(self, choice: Choice) -> set[str]:
        if choice in self.seen:
            return self.seen[choice]
        options = [{text.strip() for text in self.part(option)} for option in choice.options]
        out: set[str] = set()
        for count in range(choice.low, choice.high + 1):
            for picked in combinations(options, count):
                texts = picked[0] if picked else {""}
                for more in picked[1:]:
                    texts = self._joined(texts, more, choice.separator)
                out |= texts
                self._step(len(out))
        self.seen[choice] = out
        return out


# --- every word ------------------------------------------------------------------------------


_WORD_END = re.compile(r"\S*$")
_WORD_START = re.compile(r"^\S*")


def _edge(node: str | Choice, pattern: re.Pattern[str]) -> str:
    """The part of a word that touches a choice (none where a choice touches a choice)."""
    match = pattern.search(node) if isinstance(node, str) else None
    return match.group() if match else ""


def _words(part: Part, seen: set[Choice]) -> str:
    out = []
    for i, node in enumerate(part):
        if isinstance(node, str):
            out.append(node)
            continue
        if node in seen:  # a wildcard's words are there once
            continue
        if node.wildcard is not None:
            seen.add(node)
        before, after = part[i - 1] if i else "", part[i + 1] if i + 1 < len(part) else ""
        head = _edge(before, _WORD_END)
        tail = _edge(after, _WORD_START)
        texts = [_tidy(_words(option, seen)) for option in node.options]
        out.append(" " + " ".join(f"{head}{text}{tail}" for text in texts) + " ")
        if node.high > 1:
            out.append(f" {node.separator} ")
    return "".join(out)
