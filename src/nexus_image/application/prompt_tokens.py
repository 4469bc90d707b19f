"""How many tokens the model reads of a request's prompts, for a counter beside the prompt."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_image.application.ports.prompt_tokens import PromptTokenCounter
from nexus_image.domain.styles import Style, preset_for


@dataclass(frozen=True, slots=True)
class PromptTokens:
    chunks: tuple[int, ...]  # tokens per chunk of 75, in order

    @property
    def total(self) -> int:
        return sum(self.chunks)


@dataclass(frozen=True, slots=True)
class CountedPrompts:
    prompt: PromptTokens
    negative_prompt: PromptTokens


@dataclass(slots=True)
class CountPromptTokens:
    counter: PromptTokenCounter

    def execute(
        self, prompt: str, negative_prompt: str = "", style: Style = Style.REALISTIC
    ) -> CountedPrompts:
        """The tokens of the prompts the model would see for these fields: styled as a request
        styles them (whitespace runs as one, the style's words around), counted per chunk. No
        model is needed and nothing is stored."""
        styled, negative = preset_for(style).apply(
            " ".join(prompt.split()), " ".join(negative_prompt.split())
        )
        return CountedPrompts(
            PromptTokens(tuple(self.counter(styled))), PromptTokens(tuple(self.counter(negative)))
        )
