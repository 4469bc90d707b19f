"""The rules layer: the lexicon matched on every normalised view of a prompt.

In order: innocent phrases are masked (`nude lipstick`, `naked eye`, `Suicide Squad`); prompts
naming child sexual content outright are `minors`; a minor (a child noun, an age under 18, a
school marker) together with anything sexual, suggestive or sexually violent, or with an adult
in a romantic setting, is `minors`, even when no word alone is banned; someone who cannot
consent (drugged, unconscious, asleep) with an assault or anything sexual is `sexual_violence`;
then each category, the most severe first. A masked letter (`n*de`) stands for any letter."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path

from nexus_image.adapters.moderation import lexicon
from nexus_image.adapters.moderation.text import spellings, views
from nexus_image.application.ports import ModerationVerdict

MINORS = "minors"
LAYER = "rules"
RELAXABLE = frozenset({"sexual"})
_MAX_MASKS = 2
_STRETCHED = re.compile(r"([a-z])\1{2,}")


def _compile(patterns: Iterable[str]) -> re.Pattern[str]:
    body = "|".join(f"(?:{p})" for p in patterns)
    return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])")


@dataclass(frozen=True, slots=True)
class _Hit:
    category: str
    matched: str


class RuleBasedModerator:
    """`relaxed` categories (only `sexual` may be) are not refused on their own; `minors` is
    never relaxed, and a relaxed category still counts towards the minors combination.
    `extra` adds terms (plain words or phrases) per category, e.g. from an operator's file."""

    def __init__(
        self,
        extra: Mapping[str, Sequence[str]] | None = None,
        *,
        relaxed: Iterable[str] = (),
    ) -> None:
        self.relaxed = frozenset(relaxed)
        if not self.relaxed <= RELAXABLE:
            raise ValueError(
                f"only {sorted(RELAXABLE)} may be relaxed, not {sorted(self.relaxed - RELAXABLE)}"
            )
        categories: dict[str, list[str]] = {name: list(patterns) for name, patterns in lexicon.CATEGORIES}
        for category, terms in (extra or {}).items():
            escaped = [r"\s+".join(re.escape(w) for w in views(term).plain.split()) for term in terms]
            categories.setdefault(category, []).extend(e for e in escaped if e)
        self._allow = _compile(lexicon.ALLOW)
        self._always = _compile(lexicon.MINORS_ALWAYS)
        self._minor = _compile(lexicon.MINOR)
        sexual_like = [
            *lexicon.SEXUAL,
            *lexicon.SUGGESTIVE,
            *lexicon.SEXUAL_VIOLENCE,
            *categories.get("sexual", ()),
        ]
        self._suggestive = _compile(sexual_like)
        self._adult = _compile(lexicon.ADULT_PARTNER)
        self._intimate = _compile(lexicon.INTIMATE)
        self._categories = [(name, _compile(patterns)) for name, patterns in categories.items()]
        self._incapacitated = _compile(lexicon.INCAPACITATED)
        self._assault = _compile([*lexicon.ASSAULT, *lexicon.SEXUAL, *categories.get("sexual", ())])
        self._single_word = _compile(
            [*sexual_like, *lexicon.MINOR, *(p for _, ps in categories.items() for p in ps)]
        )

    @classmethod
    def from_file(cls, path: Path, *, relaxed: Iterable[str] = ()) -> RuleBasedModerator:
        """A JSON object mapping each category to a list of extra terms."""
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(t, str) for t in v)
            for k, v in data.items()
        ):
            raise ValueError(f"{path}: expected a JSON object of category -> list of terms")
        return cls(data, relaxed=relaxed)

    def check(self, text: str) -> ModerationVerdict:
        hit = self.first_hit(text)
        if hit is None:
            return ModerationVerdict(True, layer=LAYER)
        return ModerationVerdict(False, hit.category, hit.matched, layer=LAYER)

    def _forms(self, text: str) -> list[str]:
        seen = views(text)
        forms = [self._allow.sub(" ~ ", self._resolve(form)) for form in seen.all()]
        # A run of short fragments may hide a word (`a n u d e`, `se x`): its flagged pieces
        # are added as a form of their own.
        pieces = [piece for run in seen.spelt for piece in self._flagged_pieces(run)]
        return [*forms, " ".join(pieces)] if pieces else forms

    def _flagged_pieces(self, run: str) -> Iterable[str]:
        """The longest flagged word made of whole consecutive fragments of the run."""
        fragments = run.split(" ")
        for start in range(len(fragments)):
            for end in range(len(fragments), start, -1):
                piece = "".join(fragments[start:end])
                if len(piece) >= 3 and self._single_word.fullmatch(piece):
                    yield piece
                    return

    def masked(self, text: str) -> str:
        """The decoded text with innocent phrases taken out: what the semantic layer reads."""
        forms = self._forms(text)
        return " ".join(forms[min(1, len(forms) - 1)].replace("~", " ").split())

    def first_hit(self, text: str) -> _Hit | None:
        forms = self._forms(text)
        for form in forms:
            if match := self._always.search(form):
                return _Hit(MINORS, match.group())
        # A minor in any view with a suggestive term in any view (`10yo g1rl, s3xy`: the age
        # reads in the plain view, the leetspeak in the decoded one), the two being other words.
        minors = {m.group() for form in forms for m in self._minor.finditer(form)}
        if minors:
            for form in forms:
                for suggestive in self._suggestive.finditer(form):
                    term = suggestive.group()
                    if not any(term in minor or minor in term for minor in minors):
                        return _Hit(MINORS, f"{sorted(minors)[0]} + {term}")
            for form in forms:
                adult, intimate = self._adult.search(form), self._intimate.search(form)
                if adult and intimate:
                    return _Hit(MINORS, f"{sorted(minors)[0]} + {adult.group()} + {intimate.group()}")
        for form in forms:
            victim = self._incapacitated.search(form)
            if victim is None:
                continue
            rest = form[: victim.start()] + " ~ " + form[victim.end() :]
            if act := self._assault.search(rest):
                return _Hit("sexual_violence", f"{victim.group()} + {act.group()}")
        for name, pattern in self._categories:
            if name in self.relaxed:
                continue
            for form in forms:
                if match := pattern.search(form):
                    return _Hit(name, match.group())
        return None

    def _resolve(self, form: str) -> str:
        """Each stretched word (`nuuuude`) or word with masked letters (`n*de`) becomes the
        flagged word it can spell, if any, else its spelling with every run squeezed to one."""
        if "*" not in form and not _STRETCHED.search(form):
            return form
        words = form.split(" ")
        for i, word in enumerate(words):
            candidates = spellings(word)
            if len(candidates) == 1 and "*" not in word:
                continue
            words[i] = next(
                (c for c in self._unmasked([word, *candidates]) if self._single_word.fullmatch(c)),
                candidates[-1],
            )
        return " ".join(words)

    @staticmethod
    def _unmasked(candidates: list[str]) -> Iterable[str]:
        for word in candidates:
            masks = word.count("*")
            if not masks:
                yield word
            elif masks <= _MAX_MASKS and len(word) - masks >= 2:
                for letters in product(string.ascii_lowercase, repeat=masks):
                    candidate = word
                    for letter in letters:
                        candidate = candidate.replace("*", letter, 1)
                    yield candidate
