"""AUTOMATIC1111's prompt syntax: emphasis, escapes and BREAK.

- `(text:1.3)` gives `text` the weight 1.3 (any decimal, negative too); `(text)` multiplies by
  1.1 and `[text]` divides by 1.1; nested brackets multiply.
- `\\(`, `\\)`, `\\[`, `\\]` and `\\\\` are the bracket or backslash as text; any other backslash is
  itself.
- An unclosed `(` or `[` weights everything after it; a stray `)` or `]` is text.
- `BREAK`, upper case and a word of its own, ends the text encoder's current chunk.

Where AUTOMATIC1111 differs, it is by failing: a BREAK inside brackets is a break here (there it
becomes the word "BREAK" with a negative weight), and a weight that is not a finite number is
text here (there it raises)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

ROUND = 1.1
SQUARE = 1 / 1.1

_TOKEN = re.compile(
    r"""
    \\[()\[\]\\]                                  # an escaped bracket or backslash
    | [()\[\]]                                    # a bracket
    | :\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*\)         # a weight, closing a round bracket
    | [^\\()\[\]:]+ | [\\:]                       # text
    """,
    re.VERBOSE,
)
_BREAK = re.compile(r"\s*\bBREAK\b\s*")
_SPECIAL = re.compile(r"([()\[\]\\])")


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of text read with one weight, or (`brk`) a BREAK: the next text starts a chunk."""

    text: str
    weight: float = 1.0
    brk: bool = False


BREAK = Segment("", 1.0, brk=True)


@dataclass(slots=True)
class _Piece:
    text: str
    weight: float = 1.0
    brk: bool = False


class _Pieces:
    """Text and breaks as they are read; a closing bracket weights the pieces since its opening."""

    def __init__(self) -> None:
        self.items: list[_Piece] = []

    def __len__(self) -> int:
        return len(self.items)

    def text(self, text: str) -> None:
        for number, part in enumerate(_BREAK.split(text)):
            if number:
                self.items.append(_Piece("", brk=True))
            if part:
                self.items.append(_Piece(part))

    def weigh(self, start: int, factor: float) -> None:
        for item in self.items[start:]:
            if not item.brk:
                item.weight *= factor


def parse(text: str) -> tuple[Segment, ...]:
    """`text` as segments of one weight each (neighbours of equal weight joined), in order."""
    pieces = _Pieces()
    rounds: list[int] = []
    squares: list[int] = []
    for match in _TOKEN.finditer(text):
        token, number = match.group(0), match.group(1)
        if len(token) == 2 and token[0] == "\\":
            pieces.text(token[1])
        elif token == "(":
            rounds.append(len(pieces))
        elif token == "[":
            squares.append(len(pieces))
        elif number is not None and rounds:
            weight = float(number)
            if math.isfinite(weight):
                pieces.weigh(rounds.pop(), weight)
            else:  # too many digits for a float: the number is text, the bracket still closes
                pieces.text(token[:-1])
                pieces.weigh(rounds.pop(), ROUND)
        elif token == ")" and rounds:
            pieces.weigh(rounds.pop(), ROUND)
        elif token == "]" and squares:
            pieces.weigh(squares.pop(), SQUARE)
        else:
            pieces.text(token)
    for start in rounds:
        pieces.weigh(start, ROUND)
    for start in squares:
        pieces.weigh(start, SQUARE)
    return _joined(pieces.items)


def _joined(items: list[_Piece]) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    for item in items:
        if item.brk:
            segments.append(BREAK)
        elif segments and not segments[-1].brk and segments[-1].weight == item.weight:
            segments[-1] = Segment(segments[-1].text + item.text, item.weight)
        else:
            segments.append(Segment(item.text, item.weight))
    return tuple(segments)


def plain_text(text: str) -> str:
    """The words of `text` without the syntax (a BREAK is a space), whitespace runs as one."""
    return " ".join("".join(" " if s.brk else s.text for s in parse(text)).split())


def escape(text: str) -> str:
    """`text` written so that it parses to itself: brackets and backslashes escaped."""
    return _SPECIAL.sub(r"\\\1", text)
