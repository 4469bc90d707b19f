"""A rule-based prompt moderator: categories of terms matched on a normalised prompt.

Normalising folds case and accents, maps common character substitutions (`n00d3` -> `nood e`
style), and joins letters spelt out one by one (`n u d e`, `n.u.d.e`), so the usual ways of
slipping a word past a filter are caught while whole-word matching keeps `therapist` clean."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

from nexus_image.application.ports import ModerationVerdict

DEFAULT_RULES: dict[str, list[str]] = {
    "sexual": ["nude", "naked", "nsfw", "porn", "pornographic", "sex", "explicit sex", "hentai", "topless"],
    "minors": ["child porn", "underage", "loli", "shota", "cp"],
    "violence": ["gore", "beheading", "dismembered", "mutilated", "torture"],
    "hate": ["nazi propaganda", "white power", "ethnic cleansing"],
    "self_harm": ["self harm", "suicide", "cutting myself"],
}

_SUBSTITUTIONS = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "l",
        "+": "t",
    }
)
_WORD = re.compile(r"[a-z]+")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalise(text: str) -> list[str]:
    """Words of the text after folding, substitutions and joining spelt-out letters."""
    return _analyse(text)[0]


def _analyse(text: str) -> tuple[list[str], list[str]]:
    """(words, spelt): words as in `normalise`; spelt holds each run of single letters joined."""
    folded = _fold(text)
    words: list[str] = []
    for raw in folded.split():
        # A token made only of substitution characters and letters is mapped; other tokens keep
        # their digits as separators (so "1024x1024" does not become a word).
        mapped = raw.translate(_SUBSTITUTIONS) if re.search(r"[a-z]", raw) else raw
        words.extend(_WORD.findall(mapped))
    joined: list[str] = []
    spelt: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1:
            run.append(word)
            continue
        if len(run) >= 3:
            joined.append("".join(run))
            spelt.append("".join(run))
        else:
            joined.extend(run)
        run = []
        if word:
            joined.append(word)
    return joined, spelt


class RuleBasedModerator:
    def __init__(self, rules: Mapping[str, Sequence[str]] | None = None) -> None:
        source = DEFAULT_RULES if rules is None else rules
        self.rules: dict[str, list[tuple[str, ...]]] = {
            category: [tuple(normalise(term)) for term in terms if normalise(term)]
            for category, terms in source.items()
        }

    @classmethod
    def from_file(cls, path: Path) -> RuleBasedModerator:
        """A JSON object mapping each category to its list of terms."""
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(t, str) for t in v)
            for k, v in data.items()
        ):
            raise ValueError(f"{path}: expected a JSON object of category -> list of terms")
        return cls(data)

    def check(self, text: str) -> ModerationVerdict:
        words, spelt = _analyse(text)
        for category, terms in self.rules.items():
            for term in terms:
                compact = "".join(term)
                # "self harm" also matches "selfharm"; "a n u d e" hides "nude" in a spelt run.
                if (
                    _contains(words, term)
                    or (len(term) > 1 and compact in words)
                    or any(len(compact) >= 3 and compact in run for run in spelt)
                ):
                    return ModerationVerdict(False, category, " ".join(term))
        return ModerationVerdict(True)


def _contains(words: list[str], term: tuple[str, ...]) -> bool:
    n = len(term)
    return any(tuple(words[i : i + n]) == term for i in range(len(words) - n + 1))
