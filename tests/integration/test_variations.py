"""Variation seeds on the real diffusers code path (tiny pipeline): strength 0 is the base
image byte for byte, strength 1 is the variation seed's own image (the default scheduler adds
no noise of its own), in between the image moves away from the base gradually; a batch mixing
variations with plain images leaves the plain ones untouched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nexus_image.adapters.diffusers import DiffusersGenerator, GeneratorOptions
from nexus_image.adapters.diffusers.generator import slerp
from nexus_image.application.ports import RawImage, RenderSpec
from tests.support.specs import changed, render_spec

pytestmark = pytest.mark.integration

BASE = render_spec("a harbour at dawn", "blurry", 512, 512, 1234, 4)


def varied(strength: float, seed: int = 98765) -> RenderSpec:
    return changed(BASE, variation_seed=seed, variation_strength=strength)


@pytest.fixture(scope="module")
def generator(tiny_folder: Path, model_cache: Path) -> DiffusersGenerator:
    gen = DiffusersGenerator(GeneratorOptions(model=str(tiny_folder), cache_dir=model_cache, threads=2))
    gen.load()
    return gen


def pixels(image: RawImage) -> np.ndarray:
    return np.frombuffer(image.pixels, dtype=np.uint8).astype(np.int16)


def render(generator: DiffusersGenerator, spec: RenderSpec) -> RawImage:
    return generator.generate(spec, lambda step, total: True)


def test_strength_zero_is_the_base_image_and_one_is_the_variation_seeds(
    generator: DiffusersGenerator,
) -> None:
    base = render(generator, BASE)
    assert render(generator, varied(0.0)).pixels == base.pixels
    other = render(generator, changed(BASE, seed=98765))
    assert render(generator, varied(1.0)).pixels == other.pixels
    assert other.pixels != base.pixels


def test_the_image_moves_away_from_the_base_as_the_strength_grows(generator: DiffusersGenerator) -> None:
    base = pixels(render(generator, BASE))
    distances = [float(np.abs(pixels(render(generator, varied(s))) - base).mean()) for s in (0.1, 0.5, 0.9)]
    assert 0 < distances[0] < distances[1] < distances[2], distances


def test_a_batch_mixing_variations_and_plain_images_keeps_the_plain_ones_exact(
    generator: DiffusersGenerator,
) -> None:
    plain = changed(BASE, seed=77)
    variation = render(generator, varied(0.4))
    mixed = generator.generate_batch([plain, varied(0.4)], lambda step, total: True)
    unmixed = generator.generate_batch([plain, BASE], lambda step, total: True)  # same batch shape
    assert mixed[0].pixels == unmixed[0].pixels
    assert np.abs(pixels(mixed[1]) - pixels(variation)).mean() < 1.0  # batched arithmetic rounding


def test_slerp_keeps_the_norm_where_a_straight_blend_shrinks_it() -> None:
    first = torch.randn((1, 4, 64, 64), generator=torch.Generator().manual_seed(1))
    second = torch.randn((1, 4, 64, 64), generator=torch.Generator().manual_seed(2))
    middle = slerp(0.5, first, second)
    assert torch.equal(slerp(0.0, first, second), first) and torch.equal(slerp(1.0, first, second), second)
    straight = 0.5 * first + 0.5 * second
    assert abs(middle.norm() / first.norm() - 1) < 0.05 < abs(straight.norm() / first.norm() - 1)
