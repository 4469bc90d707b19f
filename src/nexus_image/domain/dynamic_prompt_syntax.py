"""The syntax of dynamic prompts, read into a tree: text, and choices among options (a variant
`{a|b}`, a pick `{2$$a|b|c}`, a wildcard `__name__` whose options are the lines of a file).

AUTOMATIC1111's own prompt syntax, `(word:1.2)`, `[a|b]`, `[a:b:0.5]`, `<lora:x:1>`, `BREAK`, is
plain text here: `|` separates options only inside braces."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Protocol

from nexus_image.domain.errors import InvalidTemplate, UnknownWildcard

MAX_DEPTH = 16  # braces inside braces and wildcards inside wildcards, together
DEFAULT_SEPARATOR = ", "
ESCAPABLE = "{}|"
SUGGESTED_NAMES = 8

# Lazy, so that `__a__, __b__` and `__a____b__` are two names; `*` matches names (`__animals/*__`).
WILDCARD = re.compile(r"__([A-Za-z0-9*][A-Za-z0-9_.*/-]*?)__")
_SEGMENT = re.compile(r"[A-Za-z0-9_*-][A-Za-z0-9_.*-]*")  # no empty, `.` or `..` segment
_COUNT = re.compile(r"\s*(?:(?P<low>\d+)?\s*(?P<dash>-)\s*(?P<high>\d+)?|(?P<exact>\d+))\s*\$\$")
_SEPARATOR = re.compile(r"([^{}|]*?)\$\$")
_WEIGHT = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*::")


def is_wildcard_name(name: str) -> bool:
    """Whether `__name__` in a template names exactly `name` (a file's name, not a pattern)."""
    read = WILDCARD.match(f"__{name}__")
    return "*" not in name and read is not None and read.group(1) == name and _segments_valid(name)


def _segments_valid(name: str) -> bool:
    return all(_SEGMENT.fullmatch(segment) for segment in name.split("/"))


class WildcardSource(Protocol):
    """The operator's wildcards: each name's lines (None: no such name)."""

    def names(self) -> list[str]: ...

    def lines(self, name: str) -> list[str] | None: ...


class WildcardTable:
    """Wildcards from a mapping of name to lines (blank lines are skipped)."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self.table = table

    def names(self) -> list[str]:
        return sorted(self.table)

    def lines(self, name: str) -> list[str] | None:
        found = self.table.get(name)
        if found is None:
            return None
        listed = [found] if isinstance(found, str) else list(found)
        return [line.strip() for line in listed if line.strip()]


@dataclass(frozen=True, slots=True, eq=False)
class Choice:
    """Between `low` and `high` distinct options, kept in the order written, joined by
    `separator`; `wildcard` names the file the options came from."""

    options: tuple[Part, ...]
    weights: tuple[float, ...]
    low: int
    high: int
    separator: str
    height: int  # 1 + the deepest choice inside
    wildcard: str | None = None


Part = tuple["str | Choice", ...]


def _height(parts: Sequence[Part]) -> int:
    return 1 + max((n.height for part in parts for n in part if isinstance(n, Choice)), default=0)


class Parser:
    """Reads one template (and the wildcards it reaches, each once) for the field it is in."""

    def __init__(self, source: WildcardSource, field: str) -> None:
        self.source = source
        self.field = field
        self.library: dict[str, Choice] = {}
        self.including: list[str] = []

    def fail(self, message: str) -> InvalidTemplate:
        where = f" (in wildcard __{self.including[-1]}__)" if self.including else ""
        return InvalidTemplate(self.field, f"{self.field}: {message}{where}")

    def template(self, text: str) -> Part:
        return self._options(text, 0, 0, inside=False)[0][0][0]

    def _options(self, text: str, i: int, depth: int, inside: bool) -> tuple[list[tuple[Part, float]], int]:
        """The options from `i` up to the closing brace (inside) or the end, and where they end."""
        opened, found = i, []
        nodes: list[str | Choice] = []
        buffer: list[str] = []
        weight, i = self._weight(text, i) if inside else (1.0, i)

        def flush() -> None:
            if buffer:
                nodes.append("".join(buffer))
                buffer.clear()

        while i < len(text):
            c = text[i]
            if c == "\\" and text[i + 1 : i + 2] in tuple(ESCAPABLE):
                buffer.append(text[i + 1])
                i += 2
            elif c == "{":
                flush()
                choice, i = self._choice(text, i + 1, depth + 1)
                nodes.append(choice)
            elif c in "|}" and inside:
                flush()
                found.append((tuple(nodes), weight))
                nodes = []
                if c == "}":
                    return found, i + 1
                weight, i = self._weight(text, i + 1)
            elif c == "}":
                raise self.fail(f"unbalanced '}}' at character {i + 1} (write \\}} for a literal one)")
            elif c == "_" and (match := WILDCARD.match(text, i)):
                flush()
                nodes.append(self._wildcard(match.group(1), depth + 1))
                i = match.end()
            else:
                buffer.append(c)
                i += 1
        if inside:
            raise self.fail(f"unbalanced '{{' at character {opened} (write \\{{ for a literal one)")
        flush()
        return [(tuple(nodes), 1.0)], i

    def _weight(self, text: str, i: int) -> tuple[float, int]:
        match = _WEIGHT.match(text, i)
        return (float(match.group(1)), match.end()) if match else (1.0, i)

    def _choice(self, text: str, i: int, depth: int) -> tuple[Choice, int]:
        if depth > MAX_DEPTH:
            raise self.fail(f"choices nested more than {MAX_DEPTH} deep")
        count = _COUNT.match(text, i)
        if count and count["dash"] and not (count["low"] or count["high"]):
            count = None  # `{-$$…}` bounds nothing: plain text
        separator = DEFAULT_SEPARATOR
        if count:
            i = count.end()
            if custom := _SEPARATOR.match(text, i):
                separator, i = custom.group(1), custom.end()
        options, end = self._options(text, i, depth, inside=True)
        if count and len(options) == 1:  # `{2$$__colors__}`: a pick among a wildcard's lines
            inner = [n for n in options[0][0] if not (isinstance(n, str) and not n.strip())]
            if len(inner) == 1 and isinstance(inner[0], Choice) and inner[0].wildcard is not None:
                options = list(zip(inner[0].options, inner[0].weights, strict=True))
        kept = [(part, w) for part, w in options if w > 0]  # a weight of 0 is never chosen
        if not kept:
            raise self.fail("no option of a choice has a weight above 0")
        low, high = self._bounds(count, len(kept))
        parts = tuple(part for part, _ in kept)
        return Choice(parts, tuple(w for _, w in kept), low, high, separator, _height(parts)), end

    def _bounds(self, count: re.Match[str] | None, options: int) -> tuple[int, int]:
        if count is None:
            return 1, 1
        if count["exact"]:
            low = high = int(count["exact"])
        else:  # as the Dynamic Prompts extension reads `{-2$$…}` and `{2-$$…}`
            low = int(count["low"]) if count["low"] else 1
            high = int(count["high"]) if count["high"] else options
        if low > high:
            raise self.fail(f"a choice asks for {low} to {high} options: the first must not be larger")
        if high > options:
            raise self.fail(f"a choice asks for {high} distinct options but has {options}")
        return low, high

    def _wildcard(self, name: str, depth: int) -> Choice:
        if not _segments_valid(name):
            raise self.fail(f"__{name}__ is not a wildcard name")
        if name in self.including:
            raise self.fail(f"wildcard __{name}__ includes itself")
        known = self.library.get(name)
        if known is None:
            lines = self._lines(name)
            self.including.append(name)
            try:
                parts = tuple(self._options(line, 0, depth, inside=False)[0][0][0] for line in lines)
            finally:
                self.including.pop()
            known = Choice(parts, (1.0,) * len(parts), 1, 1, DEFAULT_SEPARATOR, _height(parts), name)
            self.library[name] = known
        if depth + known.height - 1 > MAX_DEPTH:
            raise self.fail(f"wildcards and choices nested more than {MAX_DEPTH} deep (at __{name}__)")
        return known

    def _lines(self, name: str) -> list[str]:
        if "*" in name:
            matched = [n for n in sorted(self.source.names()) if fnmatchcase(n, name)]
            lines = [line for n in matched for line in self.source.lines(n) or ()] if matched else None
        else:
            lines = self.source.lines(name)
        if lines is None:
            raise self._unknown(name)
        if not lines:
            raise self.fail(f"wildcard __{name}__ has no lines")
        return lines

    def _unknown(self, name: str) -> UnknownWildcard:
        names = sorted(self.source.names())
        close = difflib.get_close_matches(name, names, n=SUGGESTED_NAMES, cutoff=0.5)
        suggested = (close + [n for n in names if n not in close])[:SUGGESTED_NAMES]
        known = f"known: {', '.join(suggested)}" if suggested else "no wildcards are installed"
        more = ", …" if len(names) > len(suggested) else ""
        where = f" (in wildcard __{self.including[-1]}__)" if self.including else ""
        message = f"{self.field}: unknown wildcard __{name}__{where}; {known}{more}"
        return UnknownWildcard(self.field, message, tuple(suggested))
