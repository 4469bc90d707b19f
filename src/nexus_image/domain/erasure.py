"""The rules of erasing a user: what stands for them in the rows kept (the ledger, the audit
trail), and where their id counts as named in a text."""

from __future__ import annotations

import hashlib
import hmac
import re

PSEUDONYM_PREFIX = "erased-"
PSEUDONYM_HEX = 32  # 128 bits of HMAC-SHA256: no two users' pseudonyms meet


def pseudonym_of(key: bytes, user_id: str) -> str:
    """The one-way token that replaces an erased user's id: the same for the same user under
    one key (their ledger and audit rows still belong together), and nobody without the key
    can tell whose it is, nor test a guess."""
    digest = hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX]


def is_pseudonym(user_id: str) -> bool:
    body = user_id.removeprefix(PSEUDONYM_PREFIX)
    return body != user_id and len(body) == PSEUDONYM_HEX and all(c in "0123456789abcdef" for c in body)


def _occurrences(user_id: str) -> re.Pattern[str]:
    # Not inside a longer name: no letter, digit, `_`, `-` or `@` right before or after it
    # ("alice" is not named in "malice", "alice_2" or "alice@example.com").
    return re.compile(r"(?<![\w@-])" + re.escape(user_id) + r"(?![\w@-])")


def names(text: str, user_id: str) -> bool:
    """Whether `text` names the user: is their id, or holds it as a whole word."""
    return bool(user_id) and _occurrences(user_id).search(text) is not None


def renamed(text: str, user_id: str, pseudonym: str, length: int | None = None) -> str:
    """`text` with `pseudonym` wherever it names the user (see `names`), cut to `length`."""
    if not user_id or user_id not in text:
        return text[:length] if length is not None else text
    changed = _occurrences(user_id).sub(lambda _: pseudonym, text)
    return changed[:length] if length is not None else changed
