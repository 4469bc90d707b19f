"""Counting a prompt's tokens as the model reads them: for the counter beside the studio's prompt."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, post
from msgspec import Meta, Struct

from nexus_image.application.prompt_tokens import CountPromptTokens, PromptTokens
from nexus_image.domain.parameters import MAX_PROMPT_LENGTH
from nexus_image.domain.service_key import Scope
from nexus_image.domain.styles import Style
from nexus_image.entrypoints.http.auth import SCOPE
from nexus_image.entrypoints.http.docs import problems

PromptText = Annotated[str, Meta(max_length=MAX_PROMPT_LENGTH)]


class TokenCountRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """The fields of a generate request that decide the text the model reads."""

    prompt: PromptText
    negative_prompt: PromptText = ""
    style: Style = Style.REALISTIC


class TokenCount(Struct, kw_only=True):
    """`chunks`: the tokens of each 75-token chunk the text encoder reads, in order."""

    chunks: list[int]
    tokens: int

    @classmethod
    def of(cls, counted: PromptTokens) -> TokenCount:
        return cls(chunks=list(counted.chunks), tokens=counted.total)


class TokenCountResponse(Struct, kw_only=True):
    prompt: TokenCount
    negative_prompt: TokenCount


class PromptsController(Controller):
    path = "/prompts"
    tags = ["prompts"]

    @post(
        "/tokens",
        status_code=200,
        sync_to_thread=True,
        summary="How many tokens the model reads of the prompts, chunk by chunk",
        responses=problems(400, 413, 415),
        opt={SCOPE: Scope.IMAGES_READ.value},  # it reads; it changes nothing
    )
    def tokens(self, data: TokenCountRequest, prompt_tokens: CountPromptTokens) -> TokenCountResponse:
        """The prompt and negative prompt as a generate request with these fields would send
        them (the style's words around), in CLIP tokens: the model reads 75 at a time, so a
        longer prompt takes several chunks (a chunk that fills up ends at its last comma; `BREAK`
        ends one early), and `(word:1.3)`, `(word)`, `[word]` weigh without adding tokens.
        Free: no model runs."""
        counted = prompt_tokens.execute(data.prompt, data.negative_prompt, data.style)
        return TokenCountResponse(
            prompt=TokenCount.of(counted.prompt), negative_prompt=TokenCount.of(counted.negative_prompt)
        )
