"""Fitting the styled prompts into the text encoder's token window, the user's words first.

CLIP reads 77 tokens (BOS and EOS included) and the pipeline silently cuts the rest, mid-word,
wherever the style text happened to push the prompt. Here the styled prompt is taken apart again
(the style's text before and after the user's words, see `domain/styles.py`), measured with the
pipeline's own tokenizer, and shortened in this order until it fits:

1. the style's comma-separated fragments after the user's words, from the end;
2. the style's text before the user's words;
3. only then the user's own words, from the end, at a word boundary.

The negative prompt (the user's first, then the style's) is fitted the same way. When the user's
own words are cut, a WARNING goes to the `nexus_image.prompt_window` logger with the `PromptCut`
as the record's `prompt_cut` attribute: the CLI turns it into one line for the user, the
service's logs carry it as a log line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nexus_image.domain.styles import PRESETS

PROMPT_LOGGER = "nexus_image.prompt_window"
log = logging.getLogger(PROMPT_LOGGER)

DEFAULT_WINDOW = 77
# diffusers' own warning when it cuts a prompt: never shown, the prompts are fitted before.
LIBRARY_TRUNCATION_WARNING = "The following part of your input was truncated"
LIBRARY_LOGGERS = (
    "diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion",
    "diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_img2img",
)

TokenCounter = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class PromptCut:
    """The user's own words did not fit: the model reads `kept`, not `dropped`."""

    field: str  # "prompt" or "negative_prompt"
    limit: int  # the window, in tokens, BOS and EOS included
    kept: str
    dropped: str

    def tail(self, words: int = 6) -> str:
        """The last words the model reads, for a message."""
        kept = self.kept.split()
        return ("…" if len(kept) > words else "") + " ".join(kept[-words:])

    def message(self) -> str:
        what = "negative prompt" if self.field == "negative_prompt" else "prompt"
        return (
            f"your {what} is longer than the model reads ({self.limit} tokens); "
            f"it was cut after '{self.tail()}'"
        )


@dataclass(frozen=True, slots=True)
class FittedPrompt:
    text: str
    dropped_style: tuple[str, ...] = ()  # style text left out, in the order it was dropped
    cut: PromptCut | None = None


@dataclass(frozen=True, slots=True)
class _Parts:
    """A styled prompt taken apart: `prefix + user + ",".join(suffix)`."""

    prefix: str
    user: str
    suffix: tuple[str, ...]  # the style text after the user's words, split at its commas

    def text(self, prefix: bool, pieces: int, user: str | None = None) -> str:
        return (
            (self.prefix if prefix else "")
            + (self.user if user is None else user)
            + (",".join(self.suffix[:pieces]))
        )


def _split_prompt(prompt: str) -> _Parts:
    """The style template that made `prompt` (the longest that matches), else all user words."""
    matches = [
        (before, after)
        for before, _, after in (preset.template.partition("{prompt}") for preset in PRESETS.values())
        if len(prompt) >= len(before) + len(after) and prompt.startswith(before) and prompt.endswith(after)
    ]
    if not matches:
        return _Parts("", prompt, ())
    before, after = max(matches, key=lambda match: len(match[0]) + len(match[1]))
    user = prompt[len(before) : len(prompt) - len(after)]
    return _Parts(before, user, tuple(after.split(",")) if after else ())


def _split_negative(negative: str) -> _Parts:
    """The user's negative prompt, then the style's (joined by ", "): see `StylePreset.apply`."""
    best = ""
    for preset in PRESETS.values():
        style = preset.negative_prompt
        if (negative == style or negative.endswith(", " + style)) and len(style) > len(best):
            best = style
    if not best:
        return _Parts("", negative, ())
    user = negative[: len(negative) - len(best)].removesuffix(", ")
    fragments = best.split(",")
    if user:  # the ", " that joins the user's words to the style's belongs to the first fragment
        fragments[0] = " " + fragments[0]
        return _Parts("", user, ("", *fragments))
    fragments[0] = fragments[0].lstrip()
    return _Parts("", "", tuple(fragments))


def _cut_words(user: str, count: TokenCounter, limit: int) -> tuple[str, str]:
    """The longest run of the user's first words that fits, and the rest."""
    words = user.split(" ")
    low, high = 0, len(words)  # words[:low] fits; words[:high + 1] does not
    while low < high:
        middle = (low + high + 1) // 2
        if count(" ".join(words[:middle])) <= limit:
            low = middle
        else:
            high = middle - 1
    if low > 0:
        return " ".join(words[:low]), " ".join(words[low:])
    # Not even the first word fits (one very long "word"): cut it at a character.
    first = words[0]
    low, high = 0, len(first)
    while low < high:
        middle = (low + high + 1) // 2
        if count(first[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return first[:low], user[low:].lstrip()


def _fit(parts: _Parts, field: str, count: TokenCounter, limit: int) -> FittedPrompt:
    pieces, prefix = len(parts.suffix), bool(parts.prefix)
    dropped: list[str] = []
    while True:
        text = parts.text(prefix, pieces)
        if count(text) <= limit:
            return FittedPrompt(text, tuple(dropped))
        if pieces > 0:
            pieces -= 1
            if parts.suffix[pieces].strip():
                dropped.append(parts.suffix[pieces].strip())
        elif prefix:
            prefix = False
            dropped.append(parts.prefix.strip(" ,"))
        else:
            break
    kept, rest = _cut_words(parts.user, count, limit)
    return FittedPrompt(kept, tuple(dropped), PromptCut(field, limit, kept, rest))


def fit_prompt(prompt: str, count: TokenCounter, limit: int = DEFAULT_WINDOW) -> FittedPrompt:
    """`prompt` (styled by `StylePreset.apply`) shortened to `limit` tokens as counted by `count`."""
    return _fit(_split_prompt(prompt), "prompt", count, limit)


def fit_negative_prompt(negative: str, count: TokenCounter, limit: int = DEFAULT_WINDOW) -> FittedPrompt:
    """The negative prompt (the user's, then the style's) shortened to `limit` tokens."""
    return _fit(_split_negative(negative), "negative_prompt", count, limit)


def window(pipeline: object) -> int:
    """How many tokens the pipeline's text encoder reads, BOS and EOS included."""
    tokenizer = getattr(pipeline, "tokenizer", None)
    sizes = [getattr(tokenizer, "model_max_length", None)]
    encoder = getattr(pipeline, "text_encoder", None)
    sizes.append(getattr(getattr(encoder, "config", None), "max_position_embeddings", None))
    usable = [size for size in sizes if isinstance(size, int) and 0 < size < 100_000]
    return min(usable) if usable else DEFAULT_WINDOW


def token_counter(tokenizer: Any) -> TokenCounter:
    """Tokens the text encoder sees for a text, BOS and EOS included (the tokenizer's own count)."""

    def count(text: str) -> int:
        return len(tokenizer(text, truncation=False, verbose=False).input_ids)

    return count


def fit_for(pipeline: object, prompt: str, negative: str) -> tuple[FittedPrompt, FittedPrompt]:
    """Both prompts fitted to `pipeline`'s window; a cut of the user's words is logged (WARNING)."""
    tokenizer = getattr(pipeline, "tokenizer", None)
    if tokenizer is None:
        return FittedPrompt(prompt), FittedPrompt(negative)
    count, limit = token_counter(tokenizer), window(pipeline)
    fitted = fit_prompt(prompt, count, limit), fit_negative_prompt(negative, count, limit)
    for item in fitted:
        if item.cut is not None:
            log.warning(item.cut.message(), extra={"prompt_cut": item.cut})
        elif item.dropped_style:
            log.debug("style text left out to fit %d tokens: %s", limit, "; ".join(item.dropped_style))
    return fitted


class _DropLibraryTruncationWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(LIBRARY_TRUNCATION_WARNING)


_FILTER = _DropLibraryTruncationWarning()


def silence_library_truncation_warning() -> None:
    """diffusers' own "was truncated because CLIP can only handle…" warning, off (idempotent)."""
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
