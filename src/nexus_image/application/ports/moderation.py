"""Deciding whether a prompt may be generated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ModerationVerdict:
    """`layer` names what decided (`rules`, `semantic`, ...), for the audit trail."""

    allowed: bool
    category: str | None = None
    matched: str | None = None
    layer: str | None = None


class PromptModerator(Protocol):
    def check(self, text: str) -> ModerationVerdict: ...
