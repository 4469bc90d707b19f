"""Image to image, inpainting and LoRA adapters on the real diffusers code path (tiny pipeline):
a starting image is repainted more as the strength grows; inpainting leaves every pixel outside
the mask exactly as it was and repaints inside; the image-to-image and inpainting pipelines
share the loaded model's weights (none is loaded twice) and leave text to image as it was; a
random LoRA built here changes the image, and switching it off or unloading it gives the base
image back byte for byte; adapters are switched per batch, least recently used ones deleted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nexus_image.adapters.diffusers import DiffusersGenerator, GeneratorOptions
from nexus_image.adapters.diffusers.tiny import build_tiny_pipeline, save_random_lora
from nexus_image.application.errors import GenerationError
from nexus_image.application.ports import RawImage, RenderSpec
from nexus_image.domain.parameters import LoraWeight
from tests.support.specs import changed, render_spec

pytestmark = pytest.mark.integration

SIZE = 64
BASE = render_spec("a harbour at dawn", "blurry", SIZE, SIZE, 1234, 6)


def raw(array: np.ndarray) -> RawImage:
    return RawImage(array.shape[1], array.shape[0], array.astype(np.uint8).tobytes())


def pixels(image: RawImage) -> np.ndarray:
    return np.frombuffer(image.pixels, dtype=np.uint8).reshape(image.height, image.width, 3).astype(np.int16)


INIT = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
INIT[..., 0] = np.arange(SIZE)[None, :] * 4
INIT[..., 2] = 90
MASK = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
MASK[16:48, 20:50] = 255


def img2img(strength: float) -> RenderSpec:
    return changed(BASE, mode="img2img", strength=strength, init_image=raw(INIT))


def inpaint(strength: float = 1.0, mask: np.ndarray = MASK) -> RenderSpec:
    return changed(BASE, mode="inpaint", strength=strength, init_image=raw(INIT), mask_image=raw(mask))


@pytest.fixture(scope="module")
def loras(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("loras")
    pipe = build_tiny_pipeline()
    for seed, name in enumerate(("grain", "ink", "mist")):
        save_random_lora(pipe, folder / f"{name}.safetensors", seed=seed)
    return folder


@pytest.fixture(scope="module")
def generator(tiny_folder: Path, model_cache: Path, loras: Path) -> DiffusersGenerator:
    options = GeneratorOptions(
        model=str(tiny_folder), cache_dir=model_cache, threads=2, lora_dir=loras, loras_kept=2
    )
    gen = DiffusersGenerator(options)
    gen.load()
    return gen


def render(generator: DiffusersGenerator, spec: RenderSpec) -> RawImage:
    return generator.generate(spec, lambda step, total: True)


def test_img2img_follows_the_starting_image_less_as_the_strength_grows(generator: DiffusersGenerator) -> None:
    """The tiny pipeline's random VAE does not reproduce a picture, so "close to the starting
    image" is measured as how much the output depends on it: two starting images give outputs
    further apart at a low strength than at a high one."""
    other = 255 - INIT
    apart = []
    for strength in (0.2, 0.5, 1.0):
        first = pixels(render(generator, img2img(strength)))
        second = pixels(render(generator, changed(img2img(strength), init_image=raw(other))))
        apart.append(float(np.abs(first - second).mean()))
    assert apart[0] > apart[1] > apart[2] > 0, apart
    assert render(generator, img2img(0.6)).pixels == render(generator, img2img(0.6)).pixels  # reproducible
    assert render(generator, img2img(0.6)).pixels != render(generator, BASE).pixels


def test_inpainting_keeps_every_pixel_outside_the_mask_and_repaints_inside(
    generator: DiffusersGenerator,
) -> None:
    out = pixels(render(generator, inpaint()))
    inside = MASK[..., 0] == 255
    assert np.array_equal(out[~inside], INIT[~inside].astype(np.int16))
    assert float(np.abs(out[inside] - INIT[inside]).mean()) > 5.0
    soft = MASK.copy()
    soft[soft == 255] = 128  # grey: half repainted, half kept
    half = pixels(render(generator, inpaint(mask=soft)))
    assert np.array_equal(half[~inside], INIT[~inside].astype(np.int16))
    green = np.zeros_like(MASK)
    green[inside] = (0, 255, 0)  # a coloured mask is read as grey, as the pipeline reads it
    coloured = pixels(render(generator, inpaint(mask=green)))
    assert np.array_equal(coloured[~inside], INIT[~inside].astype(np.int16))
    assert float(np.abs(coloured[inside] - INIT[inside]).mean()) > 2.0


def test_the_other_pipelines_share_the_weights_and_leave_text_to_image_as_it_was(
    generator: DiffusersGenerator,
) -> None:
    before = render(generator, BASE)
    render(generator, img2img(0.5))
    render(generator, inpaint())
    pipe = generator._pipe
    for mode in ("img2img", "inpaint"):
        other = generator._pipeline(mode)
        assert other.unet is pipe.unet and other.vae is pipe.vae and other.text_encoder is pipe.text_encoder
        assert other.unet.dtype == pipe.unet.dtype
    assert render(generator, BASE).pixels == before.pixels


def test_a_batch_of_starting_images_renders_each_from_its_own(generator: DiffusersGenerator) -> None:
    other = changed(img2img(0.3), init_image=raw(255 - INIT), seed=7)
    alone = [pixels(render(generator, spec)) for spec in (img2img(0.3), other)]
    batch = [pixels(image) for image in generator.generate_batch([img2img(0.3), other], lambda s, t: True)]
    apart = float(np.abs(alone[0] - alone[1]).mean())
    for mine, single in zip(batch, alone, strict=True):
        assert float(np.abs(mine - single).mean()) < apart / 4  # the batch's numerics differ a little


def test_a_spec_without_its_decoded_image_is_refused(generator: DiffusersGenerator) -> None:
    with pytest.raises(GenerationError):
        render(generator, changed(BASE, mode="img2img", strength=0.5))


def with_loras(*loras: LoraWeight) -> RenderSpec:
    return changed(BASE, loras=loras)


def test_a_lora_changes_the_image_and_switching_it_off_restores_it_byte_for_byte(
    generator: DiffusersGenerator,
) -> None:
    base = render(generator, BASE)
    grain = render(generator, with_loras(LoraWeight("grain", 1.0)))
    assert float(np.abs(pixels(grain) - pixels(base)).mean()) > 0.5
    assert render(generator, BASE).pixels == base.pixels  # switched off, not reloaded
    assert render(generator, with_loras(LoraWeight("grain", 0.0))).pixels == base.pixels
    stronger = render(generator, with_loras(LoraWeight("grain", 2.0)))
    assert float(np.abs(pixels(stronger) - pixels(base)).mean()) > float(
        np.abs(pixels(grain) - pixels(base)).mean()
    )
    both = render(generator, with_loras(LoraWeight("grain", 1.0), LoraWeight("ink", 1.0)))
    assert both.pixels not in (grain.pixels, base.pixels)
    assert render(generator, with_loras(LoraWeight("grain", 1.0))).pixels == grain.pixels  # kept loaded
    generator.unload_loras()
    assert generator.loaded_loras == []
    assert render(generator, BASE).pixels == base.pixels  # unloaded: the weights as loaded


def test_adapters_past_the_kept_number_are_deleted_least_recently_used_first(
    generator: DiffusersGenerator,
) -> None:
    generator.unload_loras()
    for name in ("grain", "ink", "mist"):
        render(generator, with_loras(LoraWeight(name)))
    assert generator.loaded_loras == ["ink", "mist"]  # two kept; grain, the oldest, deleted
    render(generator, with_loras(LoraWeight("ink")))
    render(generator, with_loras(LoraWeight("grain")))
    assert generator.loaded_loras == ["ink", "grain"]
    generator.unload_loras()


def test_a_lora_outside_the_folder_is_refused(generator: DiffusersGenerator) -> None:
    with pytest.raises(GenerationError, match="not in"):
        render(generator, with_loras(LoraWeight("missing")))
    assert render(generator, BASE).pixels  # the model still works
