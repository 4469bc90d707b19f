"""Prompts become text embeddings as AUTOMATIC1111 makes them: weighted where the syntax says,
read whole in chunks of 75 tokens (with the tiny pipeline's real CLIP text encoder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from nexus_image.adapters.diffusers import DiffusersGenerator, GeneratorOptions
from nexus_image.adapters.diffusers.prompt_weights import encode, encode_batch, token_chunks
from tests.support.specs import changed, render_spec

pytestmark = pytest.mark.integration

LONG = "x" * 200  # one word of 200 byte-level tokens on the tiny tokenizer: chunks of 75, 75, 50


@pytest.fixture(scope="module")
def generator(tiny_folder: Path, model_cache: Path) -> DiffusersGenerator:
    gen = DiffusersGenerator(GeneratorOptions(model=str(tiny_folder), cache_dir=model_cache, threads=2))
    gen.load()
    return gen


@pytest.fixture(scope="module")
def pipe(generator: DiffusersGenerator) -> Any:
    return generator._pipe


def ids(pipe: Any, text: str) -> Any:
    return pipe.tokenizer([text], padding="max_length", max_length=77, return_tensors="pt").input_ids


def length(pipe: Any, text: str) -> int:
    return len(pipe.tokenizer(text, add_special_tokens=False).input_ids)


def test_unweighted_prompts_are_the_pipelines_own_encoding_bit_for_bit(pipe: Any) -> None:
    prompts, negatives = ["a red fox", "a cat"], ["blurry", ""]
    mine = encode_batch(pipe, prompts, negatives)
    with torch.inference_mode():
        theirs = pipe.encode_prompt(prompts, "cpu", 1, True, negatives)
    assert torch.equal(mine[0], theirs[0]) and torch.equal(mine[1], theirs[1])


def test_a_weight_of_one_is_no_weight_bit_for_bit(pipe: Any) -> None:
    plain = encode(pipe, ["a red fox"])
    assert torch.equal(encode(pipe, ["a (red:1.0) fox"]), plain)
    assert torch.equal(encode(pipe, ["(a red fox:1)"]), plain)
    assert not torch.equal(encode(pipe, ["a (red) fox"]), plain)


@pytest.mark.parametrize(("text", "weight"), [("a (red:1.5) fox", 1.5), ("a [[red]] fox", 1 / 1.1 / 1.1)])
def test_a_weighted_tokens_state_is_scaled_where_the_syntax_says(pipe: Any, text: str, weight: float) -> None:
    plain, weighted = encode(pipe, ["a red fox"])[0], encode(pipe, [text])[0]
    start = 1 + length(pipe, "a")  # after BOS and "a"
    red = slice(start, start + length(pipe, "red"))
    weights = torch.ones(77)
    weights[red] = weight
    # AUTOMATIC1111's formula, in float32 (the tiny pipeline runs in bfloat16 on a CPU):
    # z *= weights; z *= original_mean / new_mean
    z = plain.float()
    expected = z * weights.reshape(-1, 1)
    expected = expected * (z.mean() / expected.mean())
    assert torch.equal(weighted, expected.to(plain.dtype))
    # So each position differs from the plain state by the mean's factor, times the weight where
    # the syntax puts it (up to bfloat16's rounding).
    scale = float(z.mean() / (z * weights.reshape(-1, 1)).mean())
    factor = torch.full((77, 1), scale)
    factor[red] *= weight
    assert torch.allclose(weighted.float(), (z * factor).to(plain.dtype).float(), rtol=0, atol=0.02)
    assert not torch.allclose(weighted.float(), (z * scale).to(plain.dtype).float(), rtol=0, atol=0.02)
    assert abs(float(weighted.float().mean() - z.mean())) < 1e-3  # the mean kept (near 0 here)


def test_the_negative_prompt_is_weighted_too(pipe: Any) -> None:
    prompt, plain = encode_batch(pipe, ["a fox"], ["blurry, dark"])
    same_prompt, weighted = encode_batch(pipe, ["a fox"], ["(blurry:1.4), dark"])
    assert torch.equal(prompt, same_prompt) and not torch.equal(plain, weighted)
    expected = encode(pipe, ["(blurry:1.4), dark"])
    assert torch.equal(weighted, expected)


def test_chunks_of_75_end_at_a_comma_within_the_last_20_tokens(pipe: Any) -> None:
    tokenizer = pipe.tokenizer
    assert token_chunks(tokenizer, LONG) == [75, 75, 50]
    assert token_chunks(tokenizer, "x" * 60 + ", " + "y" * 30) == [61, 30]  # the comma ends chunk one
    assert token_chunks(tokenizer, "x" * 40 + ", " + "y" * 60) == [75, 26]  # too far back: cut at 75
    assert token_chunks(tokenizer, "") == [0]
    assert token_chunks(tokenizer, "a (b:1.3) [c]") == token_chunks(tokenizer, "a b c")


def test_break_starts_a_new_chunk(pipe: Any) -> None:
    assert token_chunks(pipe.tokenizer, "a red fox BREAK in the snow") == [
        length(pipe, "a red fox"),
        length(pipe, "in the snow"),
    ]
    assert token_chunks(pipe.tokenizer, "BREAK a") == [0, 1]  # an empty chunk first, as in A1111
    assert token_chunks(pipe.tokenizer, "a BREAK") == [1]
    both = encode(pipe, ["a red fox BREAK in the snow"])
    assert both.shape == (1, 154, 16)
    assert torch.allclose(both[:, :77], encode(pipe, ["a red fox"]), atol=1e-6)
    assert torch.allclose(both[:, 77:], encode(pipe, ["in the snow"]), atol=1e-6)


def test_prompts_of_a_batch_are_padded_with_encoded_empty_chunks(pipe: Any) -> None:
    prompts, negatives = encode_batch(pipe, [LONG, "a cat"], ["", "blurry"])
    assert prompts.shape == negatives.shape == (2, 231, 16)
    empty = encode(pipe, [""])[0]
    assert torch.allclose(prompts[1, :77], encode(pipe, ["a cat"])[0], atol=1e-6)
    for rest in (prompts[1, 77:154], prompts[1, 154:], negatives[0, 77:154], negatives[1, 154:]):
        assert torch.allclose(rest, empty, atol=1e-6)
    assert not torch.allclose(prompts[0, 154:], empty, atol=1e-3)  # the long prompt's last words


def test_clip_skip_reads_the_hidden_state_that_many_layers_from_the_end(pipe: Any) -> None:
    with torch.inference_mode():
        out = pipe.text_encoder(ids(pipe, "a red fox"), output_hidden_states=True)
        second_last = pipe.text_encoder.final_layer_norm(out.hidden_states[-2])
    assert torch.equal(encode(pipe, ["a red fox"], clip_skip=1), out.last_hidden_state)
    assert torch.equal(encode(pipe, ["a red fox"], clip_skip=2), second_last)
    assert not torch.equal(second_last, out.last_hidden_state)
    # The tiny encoder has two layers: a larger skip reads its first layer, never bare embeddings.
    assert torch.equal(encode(pipe, ["a red fox"], clip_skip=12), second_last)


def test_a_long_prompt_reaches_the_unet_whole(generator: DiffusersGenerator, pipe: Any) -> None:
    seen: list[Any] = []

    def record(module: Any, args: Any, kwargs: dict[str, Any]) -> None:
        seen.append(kwargs["encoder_hidden_states"])

    hook = pipe.unet.register_forward_pre_hook(record, with_kwargs=True)
    try:
        generator.generate(render_spec(LONG, "(blurry:1.2)", 64, 64, 1, 2), lambda step, total: True)
    finally:
        hook.remove()
    states = seen[0]
    assert states.shape == (2, 231, 16)  # the negative prompt's row, then the prompt's
    prompt, negative = encode_batch(pipe, [LONG], ["(blurry:1.2)"])
    assert torch.equal(states[1], prompt[0]) and torch.equal(states[0], negative[0])


def test_clip_skip_and_weights_change_the_image(generator: DiffusersGenerator) -> None:
    def image(prompt: str, **changes: Any) -> bytes:
        spec = changed(render_spec(prompt, "", 64, 64, 5, 2), **changes)
        return generator.generate(spec, lambda step, total: True).pixels

    plain = image("a red fox")
    assert image("a (red:1.0) fox") == plain
    assert image("a (red:1.6) fox") != plain
    assert image("a red fox", clip_skip=2) != plain
