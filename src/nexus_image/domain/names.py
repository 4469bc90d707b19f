"""Canonical forms of the names people and things are known by (user ids, album names): two
names that look the same are the same name."""

from __future__ import annotations

import unicodedata


def canonical_name(text: str) -> str:
    """NFC, with control characters and invisible formatting characters (zero-width spaces and
    joiners, the soft hyphen, direction marks: categories Cc and Cf) removed, and runs of
    whitespace made one space, trimmed. May be empty: callers refuse blank names."""
    composed = unicodedata.normalize("NFC", text)
    kept = "".join(
        " " if char.isspace() else char
        for char in composed
        if char.isspace() or unicodedata.category(char) not in ("Cc", "Cf")
    )
    return " ".join(kept.split())
