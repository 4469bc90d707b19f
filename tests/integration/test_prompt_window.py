"""Styled prompts fit the text encoder's 77-token window with the user's words kept first
(measured with the real tiny pipeline's tokenizer); the library's truncation warning never shows."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexus_image.adapters.diffusers import DiffusersGenerator, GeneratorOptions
from nexus_image.adapters.diffusers.prompt_window import (
    LIBRARY_LOGGERS,
    LIBRARY_TRUNCATION_WARNING,
    PROMPT_LOGGER,
    PromptCut,
    fit_negative_prompt,
    fit_prompt,
    token_counter,
    window,
)
from nexus_image.application.ports import RenderSpec
from nexus_image.domain.parameters import GenerationParameters
from nexus_image.domain.styles import PRESETS, Style
from tests.support.specs import render_spec

pytestmark = pytest.mark.integration

DRAGON = "a majestic dragon flying over a medieval castle at sunset"  # `make generate`'s prompt
LONG = " ".join(f"word{i}" for i in range(40))  # ~ 240 byte-level tokens on the tiny tokenizer


@pytest.fixture(scope="module")
def generator(tiny_folder: Path, model_cache: Path) -> DiffusersGenerator:
    gen = DiffusersGenerator(GeneratorOptions(model=str(tiny_folder), cache_dir=model_cache, threads=2))
    gen.load()
    return gen


def tokens(generator: DiffusersGenerator, text: str) -> int:
    return len(generator._pipe.tokenizer(text).input_ids)


def styled(style: Style, prompt: str, negative: str | None = None) -> tuple[str, str]:
    params = GenerationParameters.create(prompt=prompt, negative_prompt=negative, seed=1, style=style)
    return params.styled_prompts()


def test_the_window_is_clips_77_tokens(generator: DiffusersGenerator) -> None:
    assert window(generator._pipe) == 77


@pytest.mark.parametrize("style", list(Style))
def test_the_default_prompt_keeps_every_user_word_and_drops_whole_style_fragments_from_the_end(
    generator: DiffusersGenerator, style: Style
) -> None:
    prompt, _ = styled(style, DRAGON)
    assert tokens(generator, prompt) > 77  # the issue: the styled prompt overflows the window
    fitted = fit_prompt(prompt, token_counter(generator._pipe.tokenizer))
    assert fitted.cut is None
    assert DRAGON in fitted.text and tokens(generator, fitted.text) <= 77
    # what is left out is the style's last fragments, whole: the text is the styled prompt cut at a comma
    assert prompt.startswith(fitted.text) and prompt[len(fitted.text)] == ","
    after = PRESETS[style].template.partition("{prompt}")[2]
    fragments = [part.strip() for part in after.split(",") if part.strip()]
    assert list(fitted.dropped_style) == fragments[::-1][: len(fitted.dropped_style)]
    # and no more than needed: the next fragment back would not fit
    back = prompt[: len(fitted.text) + len(", " + fitted.dropped_style[-1])]
    assert tokens(generator, back) > 77


def test_a_prompt_that_fits_is_left_alone(generator: DiffusersGenerator) -> None:
    prompt, negative = styled(Style.ANIME, "a fox", "ugly")
    count = token_counter(generator._pipe.tokenizer)
    assert fit_prompt(prompt, count).text == prompt
    assert fit_negative_prompt(negative, count).text == negative


def test_too_many_user_words_drop_all_style_text_then_cut_at_a_word(generator: DiffusersGenerator) -> None:
    prompt, _ = styled(Style.REALISTIC, LONG)
    fitted = fit_prompt(prompt, token_counter(generator._pipe.tokenizer))
    cut = fitted.cut
    assert isinstance(cut, PromptCut) and (cut.field, cut.limit) == ("prompt", 77)
    assert fitted.text == cut.kept and LONG.startswith(cut.kept + " ")
    assert f"{cut.kept} {cut.dropped}" == LONG  # cut between words, nothing lost in between
    assert tokens(generator, cut.kept) <= 77
    assert tokens(generator, f"{cut.kept} {cut.dropped.split()[0]}") > 77  # as many words as fit
    assert "RAW photo" in fitted.dropped_style and "8k uhd" in fitted.dropped_style
    assert cut.message() == (
        "your prompt is longer than the model reads (77 tokens); "
        f"it was cut after '…{' '.join(cut.kept.split()[-6:])}'"
    )


def test_the_negative_prompt_keeps_the_users_words_before_the_styles(generator: DiffusersGenerator) -> None:
    user = "ugly, bad hands, extra fingers"
    _, negative = styled(Style.REALISTIC, "a fox", user)
    assert tokens(generator, negative) > 77
    fitted = fit_negative_prompt(negative, token_counter(generator._pipe.tokenizer))
    assert fitted.cut is None and fitted.text.startswith(user + ", cartoon")
    assert tokens(generator, fitted.text) <= 77 and negative.startswith(fitted.text)
    assert fitted.dropped_style[0] == "deformed"  # the style's last fragment goes first

    too_long = fit_negative_prompt(
        styled(Style.ANIME, "a fox", LONG)[1], token_counter(generator._pipe.tokenizer)
    )
    assert too_long.cut is not None and too_long.cut.field == "negative_prompt"
    assert "photo" in too_long.dropped_style and LONG.startswith(too_long.text)
    assert "your negative prompt is longer" in too_long.cut.message()


@pytest.fixture
def library_records() -> Iterator[list[logging.LogRecord]]:
    """What diffusers' pipeline logger would show, with our filter taken off."""
    records: list[logging.LogRecord] = []

    class Record(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger(LIBRARY_LOGGERS[0])
    filters = list(logger.filters)
    handler = Record(logging.DEBUG)
    logger.filters.clear()
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.filters[:] = filters


def spec(prompt: str, negative: str) -> RenderSpec:
    return render_spec(prompt, negative, 64, 64, 1, 2)


def test_the_generator_renders_fitted_prompts_and_logs_a_cut_of_the_users_words(
    generator: DiffusersGenerator,
    library_records: list[logging.LogRecord],
    caplog: pytest.LogCaptureFixture,
) -> None:
    long_prompt, negative = styled(Style.REALISTIC, LONG)
    dragon, dragon_negative = styled(Style.REALISTIC, DRAGON)
    with caplog.at_level(logging.WARNING, logger=PROMPT_LOGGER):
        images = generator.generate_batch(
            [spec(long_prompt, negative), spec(dragon, dragon_negative)], lambda step, total: True
        )
    assert len(images) == 2
    # the pipeline cut nothing itself: even unfiltered, it did not warn
    assert not [r for r in library_records if "truncated" in r.getMessage()]
    cuts = [r for r in caplog.records if r.name == PROMPT_LOGGER]
    assert len(cuts) == 1  # the long prompt only; the dragon lost style text, silently
    cut = cuts[0].prompt_cut  # type: ignore[attr-defined]
    assert isinstance(cut, PromptCut) and cut.field == "prompt" and LONG.startswith(cut.kept)
    assert cuts[0].levelno == logging.WARNING and cuts[0].getMessage() == cut.message()


def test_the_librarys_own_truncation_warning_is_filtered(generator: DiffusersGenerator) -> None:
    logger = logging.getLogger(LIBRARY_LOGGERS[0])
    record = logger.makeRecord(
        logger.name, logging.WARNING, __file__, 1, LIBRARY_TRUNCATION_WARNING + " because CLIP …", (), None
    )
    assert logger.filter(record) is False
    other = logger.makeRecord(logger.name, logging.WARNING, __file__, 1, "something else", (), None)
    assert logger.filter(other)


@pytest.mark.slow  # a subprocess: imports torch, builds the embedded app, renders 512x512
def test_the_cli_prints_one_note_and_never_the_librarys_warning(tmp_path: Path) -> None:
    env = {**os.environ, "NEXUS_IMAGE_DATA_DIR": str(tmp_path / "data"), "NEXUS_IMAGE_THREADS": "2"}
    env.pop("NEXUS_IMAGE_MODEL", None)
    result = subprocess.run(
        [sys.executable, "-m", "nexus_image.entrypoints.cli.main", "generate", LONG, "--steps", "2"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "truncated" not in result.stderr and "CLIP can only handle" not in result.stderr
    notes = [line for line in result.stderr.splitlines() if "longer than the model reads" in line]
    assert len(notes) == 1
    assert notes[0].startswith(
        "note: your prompt is longer than the model reads (77 tokens); it was cut after '…"
    )
    assert "\r" not in result.stderr  # not a terminal: plain progress lines
    assert "] 2/2 (100%)" in result.stderr
