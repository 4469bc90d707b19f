"""The `Prefer` request header (RFC 7240) and the one preference honoured here: `wait=N`.

`Prefer: wait=N` asks the server to answer once the request's jobs have ended, or after N
seconds, whichever comes first; the answer says what was applied in `Preference-Applied`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated

from litestar.params import Parameter

MAX_WAIT_SECONDS = 60  # a longer wait is applied as this one (and said so)

PREFER_DESCRIPTION = (
    "RFC 7240 preferences. `wait=N` (seconds): answer once the request's jobs have ended (COMPLETED, "
    f"FAILED, CANCELLED, EXPIRED) or after N seconds, whichever comes first; at most {MAX_WAIT_SECONDS} "
    "(a longer wait is applied as that). The answer then carries `Preference-Applied: wait=N`. Any "
    "replica can wait on any job. An invalid value is ignored, as the RFC says."
)
PreferHeader = Annotated[str | None, Parameter(header="Prefer", description=PREFER_DESCRIPTION)]
PREFERENCE_APPLIED = "Preference-Applied"


@dataclass(frozen=True, slots=True)
class WaitPreference:
    """The wait applied: what was asked for, capped at `MAX_WAIT_SECONDS`."""

    seconds: int

    @property
    def applied(self) -> dict[str, str]:
        """The response header that says so."""
        return {PREFERENCE_APPLIED: f"wait={self.seconds}"}


def wait_preference(*headers: str | None) -> WaitPreference | None:
    """The `wait` preference of the `Prefer` header values given (several headers, or several
    preferences in one, comma-separated: the first `wait` counts, RFC 7240 §2); names are
    case-insensitive and a value may be quoted. A value that is not a whole number of seconds
    is ignored (None), as a preference the server does not understand."""
    for name, value in _preferences(h for h in headers if h):
        if name == "wait":
            seconds = value.strip() if value is not None else ""
            if not seconds.isascii() or not seconds.isdigit():
                return None
            return WaitPreference(min(int(seconds), MAX_WAIT_SECONDS))
    return None


def _preferences(headers: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """(lower-cased name, unquoted value or None) of each preference; its parameters (after
    `;`) are dropped: `wait` takes none."""
    for header in headers:
        for item in _split(header, ","):
            token = _split(item, ";")[0]
            name, equals, value = token.partition("=")
            name = name.strip().lower()
            if name:
                yield name, _unquoted(value.strip()) if equals else None


def _split(text: str, separator: str) -> list[str]:
    """`text` cut at each `separator` outside a quoted string."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        out: list[str] = []
        escaped = False
        for char in value[1:-1]:
            if escaped or char != "\\":
                out.append(char)
                escaped = False
            else:
                escaped = True
        return "".join(out)
    return value
