"""Normalising a prompt before any rule looks at it: every trick that changes how a word is
written but not what it says is undone here.

`views(text)` gives the forms the rules are matched against, each a string of lowercase words
separated by single spaces:

- `plain`: NFKC (fullwidth forms, mathematical alphanumerics, ligatures), zero-width and control
  characters removed, lookalike letters of other scripts folded to Latin (Cyrillic, Greek),
  case folded, accents removed, Stable Diffusion weighting syntax (`(term:1.3)`, `[term]`,
  `{term}`, `<lora:x:0.5>`) and punctuation turned into spaces, digits kept (ages stay `12 yo`);
- `decoded`: as `plain`, but inside words leetspeak and symbols are read as the letters they
  stand for (`n00d3`, `s3x`, `p@rn`, `$lut`), a masking symbol stands for any one letter
  (`n*de`), punctuation inside a word is dropped (`nu-de`, `n.u.d.e`), and letters spelt out one
  by one are joined (`n u d e`; two spaces or a comma end a word). Stretched words (`nuuuude`)
  keep their runs here; `spellings` lists what they may stand for.

Rules match whole words on both views, so `therapist`, `Essex` or `Scunthorpe` stay clean."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from itertools import product

# Zero-width and invisible formatting characters (category Cf covers most; these are named so
# the intent is clear) and the soft hyphen.
_INVISIBLE = {
    "\u00ad",
    "\u034f",
    "\u061c",
    "\u115f",
    "\u1160",
    "\u17b4",
    "\u17b5",
    "\u180e",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u200e",
    "\u200f",
    "\u2060",
    "\u2061",
    "\u2062",
    "\u2063",
    "\u2064",
    "\u3164",
    "\ufeff",
    "\uffa0",
}

# Letters of other scripts that look like Latin ones (after case folding). Sources: the Unicode
# confusables table, restricted to the lowercase Cyrillic and Greek letters a reader takes for
# Latin ones in a sans-serif font.
CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "а": "a",
    "в": "b",
    "ь": "b",
    "с": "c",
    "ԁ": "d",
    "е": "e",
    "ё": "e",
    "є": "e",
    "һ": "h",
    "н": "h",
    "і": "i",
    "ї": "i",
    "ӏ": "l",
    "ј": "j",
    "к": "k",
    "м": "m",
    "п": "n",
    "о": "o",
    "р": "p",
    "ԛ": "q",
    "г": "r",
    "ѕ": "s",
    "т": "t",
    "у": "y",
    "ү": "y",
    "х": "x",
    "ш": "w",
    "ԝ": "w",
    "з": "3",
    # Greek
    "α": "a",
    "β": "b",
    "ϲ": "c",
    "δ": "d",
    "ε": "e",
    "η": "n",
    "ι": "i",
    "ί": "i",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ό": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "ύ": "u",
    "χ": "x",
    "ω": "w",
    "γ": "y",
    "μ": "u",
    "ς": "s",
    "σ": "o",
    # Latin letters without a decomposition
    "ø": "o",
    "đ": "d",
    "ħ": "h",
    "ı": "i",
    "ł": "l",
    "ŧ": "t",
    "ß": "ss",
    "æ": "ae",
    "œ": "oe",
    "þ": "th",
    "ɑ": "a",
    "ɡ": "g",
    "ɩ": "i",
    "ʀ": "r",
    "ꜱ": "s",
}

# Characters read as letters inside a word (leetspeak). Those with two readings are read both
# ways, in two decoded views.
SECOND_READING: dict[str, str] = {"1": "l", "@": "o", "|": "i", "0": "u"}
LEET: dict[str, str] = {
    "0": "o",
    "1": "i",
    "2": "z",
    "3": "e",
    "4": "a",
    "5": "s",
    "6": "g",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "€": "e",
    "£": "l",
    "¢": "c",
    "!": "i",
    "+": "t",
    "|": "l",
    "¡": "i",
}
MASKS = "*#?%"  # a masking character stands for one hidden letter
_INNER = "._-'`´’‘~^:;,/\\"  # punctuation dropped when it sits inside a word

_WEIGHT = re.compile(r":\s*[-+]?\d+(?:\.\d+)?\s*(?=[)\]}>])")  # the `:1.3` of `(term:1.3)`
_LORA = re.compile(r"<\s*(?:lora|lyco|lycoris|hypernet|embedding)\s*:\s*([^:>]*)(?::[^>]*)?>")
_NUMBERED = re.compile(r"^\d+[a-z]{0,4}$")  # 18yo, 4k, 1girl: a count or an age, not leetspeak
_NON_WORD = re.compile(r"[^a-z0-9]+")
_RUN = re.compile(r"([a-z])\1{2,}")
_BROKEN = re.compile(r"(?<=[a-z])-?[\r\n]+(?=[a-z])")


def _strip_invisible(text: str) -> str:
    out = []
    for char in text:
        if char in _INVISIBLE:
            continue
        category = unicodedata.category(char)
        if category == "Cf" or (category == "Cc" and char not in "\t\n\r"):
            continue
        out.append(char)
    return "".join(out)


def fold(text: str) -> str:
    """NFKC, invisible characters out, case folded, lookalikes to Latin, accents removed."""
    # Lookalikes are mapped before NFKC and case folding as well as after: both change some of
    # them (NFKC turns the lunate sigma U+03F2 into sigma U+03C3), and capitals fold into the
    # listed lowercase ones.
    text = _strip_invisible(unicodedata.normalize("NFKC", _lookalikes(text)))
    text = _lookalikes(_lookalikes(text).casefold())
    decomposed = unicodedata.normalize("NFKD", text)
    return _lookalikes("".join(c for c in decomposed if not unicodedata.combining(c)))


def _lookalikes(text: str) -> str:
    return "".join(CONFUSABLES.get(char, char) for char in text)


def strip_weights(text: str) -> str:
    """Stable Diffusion prompt syntax out: a LoRA tag becomes its name (names say what they
    add), the `:1.3` weights go (brackets are punctuation and go with it later)."""
    return _WEIGHT.sub("", _LORA.sub(r" \1 ", text))


def _words(text: str) -> list[str]:
    return [w for w in _NON_WORD.split(text) if w]


def _decode_chunk(chunk: str, second: bool) -> list[str]:
    """One whitespace-separated chunk read as the word(s) it spells. Leetspeak is read in any
    chunk with a letter in it; `1024x1024` turning into nonsense is harmless, since the plain
    view keeps the digits."""
    if not chunk:
        return [""]  # two spaces in a row: a word boundary inside spelt-out letters
    if len(chunk) == 1 and chunk in LEET:
        return [SECOND_READING.get(chunk, LEET[chunk]) if second else LEET[chunk]]  # `p 0 r n`
    if not any(c.isalnum() for c in chunk):
        return [""] if any(c in ",;|" for c in chunk) else []  # `d . e . c`: no word here
    if not any(c.isalpha() for c in chunk):
        return [*_words(chunk), ""]
    if _NUMBERED.match(chunk.strip(_INNER + '()[]{}<>"')):
        return _words(chunk)
    inner = chunk.strip(_INNER + '()[]{}<>"')
    mapped: list[str] = []
    for i, char in enumerate(inner):
        if char in LEET:
            mapped.append(SECOND_READING.get(char, LEET[char]) if second else LEET[char])
        elif char in MASKS:
            mapped.append("*")
        elif char in _INNER and 0 < i < len(inner) - 1:
            continue
        else:
            mapped.append(char)
    parts = [p for p in re.split(r"[^a-z0-9*]+", "".join(mapped)) if p]
    if chunk[-1] in ",;|":
        parts.append("")  # a list separator ends a run of spelt-out letters
    return parts


def spellings(word: str) -> list[str]:
    """What a stretched word may stand for: each run of three or more of one letter read as two
    letters or as one (`toplesssss` -> `topless`, `nakeddd` -> `naked`)."""
    runs = list(_RUN.finditer(word))
    if not runs:
        return [word]
    out = []
    for lengths in product((2, 1), repeat=min(len(runs), 3)):
        pieces, last = [], 0
        for run, length in zip(runs, lengths, strict=False):
            pieces.append(word[last : run.start()] + run.group(1) * length)
            last = run.end()
        out.append("".join(pieces) + word[last:])
    return out


def _join_spelt(words: list[str], spelt: list[str]) -> list[str]:
    """Runs of three or more single letters become one word (`n u d e` -> `nude`). Each run of
    short fragments (one or two letters: `n u d e`, `se x`) is also kept in `spelt`, where the
    rules look for a flagged word made of consecutive fragments (`a n u d e` -> `nude`)."""
    out: list[str] = []
    run: list[str] = []
    short: list[str] = []
    for word in [*words, ""]:
        if (len(word) <= 2 and word.isalpha()) or word == "*":
            short.append(word)
        else:
            if len(short) >= 2 and sum(map(len, short)) >= 3:
                spelt.append(" ".join(short))
            short = []
        if (len(word) == 1 and word.isalpha()) or word == "*":
            run.append(word)
            continue
        if len(run) >= 3:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if word:
            out.append(word)
    return out


@dataclass(frozen=True, slots=True)
class Views:
    plain: str
    decoded: tuple[str, ...]  # one per reading of ambiguous characters (`1` as i or l, `@` as a or o)
    spelt: tuple[str, ...] = ()  # runs of one- and two-letter fragments, space-separated

    def all(self) -> tuple[str, ...]:
        return (self.plain, *(d for d in self.decoded if d != self.plain))


def views(text: str) -> Views:
    folded = strip_weights(fold(text))
    plain = " ".join(_words(folded))
    decoded = []
    spelt: list[str] = []
    # A line break inside a word (`na<newline>ked`, a hyphenated `na-<newline>ked`) is read as
    # nothing here; the plain view keeps it as a separator.
    unbroken = _BROKEN.sub("", folded)
    for second in (False, True):
        words: list[str] = []
        for chunk in unbroken.split(" "):
            words.extend(_decode_chunk(chunk, second))
        decoded.append(" ".join(_join_spelt(words, spelt)))
        if not any(char in folded for char in SECOND_READING):
            break
    return Views(plain, tuple(dict.fromkeys(decoded)), tuple(dict.fromkeys(spelt)))


def normalise(text: str) -> list[str]:
    """The words of the decoded view (the first reading)."""
    return views(text).decoded[0].split()
