"""The hires fix, seamless tiling, clip skip and sigma schedules on the tiny SD-1.5-shaped
pipeline with real diffusers: the final size, progress over both passes, an upscaler model
between the passes, and each setting changing what is drawn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nexus_image.adapters.diffusers import DiffusersGenerator, GeneratorOptions
from nexus_image.application.ports import RawImage, RenderSpec
from nexus_image.domain.parameters import GenerationParameters

pytestmark = pytest.mark.integration


class CountingUpscaler:
    """The Upscaler port: nearest-neighbour doubling, counting its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, int, str]] = []

    def upscale(self, image: RawImage, factor: int, name: str) -> RawImage:
        from PIL import Image

        self.calls.append((image.width, image.height, factor, name))
        picture = Image.frombytes("RGB", (image.width, image.height), image.pixels)
        larger = picture.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)
        return RawImage(larger.width, larger.height, larger.tobytes())


@pytest.fixture(scope="module")
def upscaler() -> CountingUpscaler:
    return CountingUpscaler()


@pytest.fixture(scope="module")
def generator(tiny_folder: Path, model_cache: Path, upscaler: CountingUpscaler) -> DiffusersGenerator:
    options = GeneratorOptions(model=str(tiny_folder), cache_dir=model_cache, threads=2, upscaler=upscaler)
    made = DiffusersGenerator(options)
    made.load()
    return made


def render(generator: DiffusersGenerator, **fields: Any) -> tuple[RawImage, list[tuple[int, int]]]:
    """Drawn at 256x256 (a quarter of the pixels of the smallest resolution: these tests are
    about what each setting does, not about the size)."""
    parameters = GenerationParameters.create(prompt="a castle on a hill", seed=11, **{"steps": 2, **fields})
    prompt, negative = parameters.styled_prompts()
    spec = RenderSpec(parameters, prompt, negative, 256, 256)
    seen: list[tuple[int, int]] = []

    def record(step: int, total: int) -> bool:
        seen.append((step, total))
        return True

    return generator.generate(spec, record), seen


def test_a_hires_fix_ends_at_the_final_size_and_counts_both_passes(generator: DiffusersGenerator) -> None:
    image, seen = render(generator, hires_scale=1.5, hires_steps=4, hires_denoise=0.5)
    assert (image.width, image.height) == (384, 384)
    assert len(image.pixels) == 384 * 384 * 3
    # 2 steps drawn at 256, then int(4 x 0.5) = 2 at 384, one count out of 4 throughout
    assert seen == [(step, 4) for step in range(1, 5)]
    plain, _ = render(generator)
    assert (plain.width, plain.height) == (256, 256)


def test_the_hires_fix_is_reproducible_and_its_upscaler_runs_between_the_passes(
    generator: DiffusersGenerator, upscaler: CountingUpscaler
) -> None:
    upscaler.calls.clear()
    first, _ = render(generator, hires_scale=1.25, hires_upscaler="ultrasharp")
    again, _ = render(generator, hires_scale=1.25, hires_upscaler="ultrasharp")
    assert first.pixels == again.pixels and (first.width, first.height) == (320, 320)
    assert upscaler.calls == [(256, 256, 2, "ultrasharp")] * 2  # then Lanczos down to 320
    lanczos, _ = render(generator, hires_scale=1.25, hires_upscaler="lanczos")
    latent, _ = render(generator, hires_scale=1.25)
    assert len({first.pixels, lanczos.pixels, latent.pixels}) == 3
    assert len(upscaler.calls) == 2  # neither Lanczos nor latents need the model


def test_tiling_makes_the_edges_continue_each_other_and_is_undone_after(
    generator: DiffusersGenerator,
) -> None:
    import numpy as np

    plain, _ = render(generator)
    tiled, _ = render(generator, tiling=True)
    assert tiled.pixels != plain.pixels
    after, _ = render(generator)
    assert after.pixels == plain.pixels  # the convolutions pad with zeros again
    modes = {m.padding_mode for m in generator._pipe.unet.modules() if hasattr(m, "padding_mode")}
    assert modes == {"zeros"}

    def seam(raw: RawImage) -> float:
        """How far the right edge is from the left (and the bottom from the top), against how
        far neighbouring columns inside the image are: about 1 where the image wraps."""
        a = np.frombuffer(raw.pixels, dtype=np.uint8).reshape(raw.height, raw.width, 3).astype(float)
        across = np.abs(a[:, -1] - a[:, 0]).mean() + np.abs(a[-1] - a[0]).mean()
        inside = np.abs(a[:, 127] - a[:, 128]).mean() + np.abs(a[127] - a[128]).mean()
        return float(across / max(inside, 1e-6))

    assert seam(tiled) < seam(plain)


def test_clip_skip_and_schedules_change_the_image(generator: DiffusersGenerator) -> None:
    # three steps: with two, every schedule has the same noise levels (the first and the last)
    base, _ = render(generator, scheduler="euler", steps=3)
    skipped, _ = render(generator, scheduler="euler", steps=3, clip_skip=2)
    karras, _ = render(generator, scheduler="euler", steps=3, schedule="karras")
    exponential, _ = render(generator, scheduler="euler", steps=3, schedule="exponential")
    assert len({base.pixels, skipped.pixels, karras.pixels, exponential.pixels}) == 4
    scheduler = generator._scheduler("euler", "karras")
    assert scheduler.config.use_karras_sigmas is True


@pytest.mark.parametrize("name", ["lcm", "tcd"])
def test_the_few_step_schedulers_render(generator: DiffusersGenerator, name: str) -> None:
    image, seen = render(generator, scheduler=name, guidance=1.5)
    assert (image.width, image.height) == (256, 256) and seen[-1] == (2, 2)
    assert type(generator._scheduler(name)).__name__ == f"{name.upper()}Scheduler"
