"""Deciding whether a prompt may be generated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ModerationVerdict:
    allowed: bool
    category: str | None = None
    matched: str | None = None


class PromptModerator(Protocol):
    def check(self, text: str) -> ModerationVerdict: ...
