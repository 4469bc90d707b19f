"""Counting a prompt's tokens the way the text encoder reads them."""

from __future__ import annotations

from typing import Protocol


class PromptTokenCounter(Protocol):
    def __call__(self, text: str) -> list[int]:
        """How many tokens each chunk of `text` holds (weighting syntax and BREAK read): at
        least one chunk, of at most 75 tokens each."""
        ...
