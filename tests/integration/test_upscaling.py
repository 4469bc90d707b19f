"""Upscaling with random-weight ESRGAN networks written to real files in each key layout, run
through the real loader, tiling and Lanczos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from nexus_image.adapters.upscaling import FolderUpscaler, UpscalerFolder
from nexus_image.adapters.upscaling.tiles import axis_weights, plan
from nexus_image.application.errors import GenerationError
from nexus_image.application.ports import LANCZOS, RawImage
from nexus_image.domain.errors import InvalidValue, UnknownUpscaler
from tests.support.esrgan import esrgan_shapes, random_state

pytestmark = pytest.mark.integration

SMALL = {"features": 8, "growth": 4, "blocks": 1}


def save(folder: Path, name: str, layout: str = "basicsr", wrapper: str | None = None, **shape: Any) -> Path:
    """A random network (the same weights for the same shape, whatever the layout) as
    NAME.safetensors, or as NAME.pth when `wrapper` is given ("" for a bare state dict)."""
    state = random_state(esrgan_shapes(layout, **{**SMALL, **shape}))
    if wrapper is None:
        path = folder / f"{name}.safetensors"
        save_file(state, str(path))
    else:
        path = folder / f"{name}.pth"
        content: dict[str, Any] = {wrapper: state} if wrapper else state
        if wrapper == "params_ema":  # BasicSR saves both; the averaged weights are the ones to run
            content["params"] = {key: torch.zeros_like(value) for key, value in state.items()}
        torch.save(content, path)
    return path


def noise(width: int, height: int, seed: int = 0) -> RawImage:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return RawImage(width, height, pixels.tobytes())


def array(image: RawImage) -> np.ndarray:
    return np.frombuffer(image.pixels, dtype=np.uint8).reshape(image.height, image.width, 3).astype(int)


def lanczos(image: RawImage, width: int, height: int) -> RawImage:
    picture = Image.frombytes("RGB", (image.width, image.height), image.pixels)
    return RawImage(width, height, picture.resize((width, height), Image.Resampling.LANCZOS).tobytes())


def whole(network: torch.nn.Module, image: RawImage) -> np.ndarray:
    """The network run on the whole image at once, as bytes."""
    pixels = torch.from_numpy(array(image).astype(np.float32) / 255).permute(2, 0, 1)[None]
    with torch.inference_mode():
        out = network(pixels)[0].clamp(0, 1)
    result: np.ndarray = (out * 255).round().to(torch.uint8).permute(1, 2, 0).numpy().astype(int)
    return result


def test_a_4x_model_gives_4x_and_a_2x_request_on_it_gives_2x(tmp_path: Path) -> None:
    save(tmp_path, "x4")
    upscaler = FolderUpscaler(UpscalerFolder(tmp_path))
    image = noise(40, 30)

    four = upscaler.upscale(image, 4, "x4")
    two = upscaler.upscale(image, 2, "x4")

    assert (four.width, four.height, len(four.pixels)) == (160, 120, 160 * 120 * 3)
    assert np.array_equal(array(four), whole(upscaler.network("x4"), image))
    assert (two.width, two.height) == (80, 60)
    assert two == lanczos(four, 80, 60)  # the model's 4x, brought down to the size asked
    assert array(four).std() > 5  # a picture, not a flat colour


def test_every_layout_and_file_kind_loads_the_same_network(tmp_path: Path) -> None:
    save(tmp_path, "basicsr")
    save(tmp_path, "original", "esrgan", wrapper="")
    save(tmp_path, "averaged", "esrgan", wrapper="params_ema")  # beside a zeroed `params`
    save(tmp_path, "bsrgan", "bsrgan", wrapper="params")
    upscaler = FolderUpscaler(UpscalerFolder(tmp_path), cached=4)
    image = noise(24, 20, seed=3)

    results = {
        name: upscaler.upscale(image, 4, name) for name in ("basicsr", "original", "averaged", "bsrgan")
    }

    assert len(set(results.values())) == 1
    assert upscaler.network("original").scale == 4


def test_real_esrgan_x2_and_x1_fold_pixels_before_the_first_convolution(tmp_path: Path) -> None:
    save(tmp_path, "x2", first_in=12)
    save(tmp_path, "x1", first_in=48)
    upscaler = FolderUpscaler(UpscalerFolder(tmp_path))
    assert [(i.name, i.scale) for i in upscaler.available()] == [(LANCZOS, None), ("x1", 1), ("x2", 2)]

    network = upscaler.network("x2")
    seen: list[torch.Tensor] = []
    network.conv_first.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    image = noise(34, 22)
    doubled = upscaler.upscale(image, 2, "x2")

    # BasicSR's pixel-unshuffle: channel c·4 + 2·dy + dx holds pixel (2y + dy, 2x + dx) of channel c.
    pixels = torch.from_numpy(array(image).astype(np.float32) / 255).permute(2, 0, 1)
    folded = pixels.view(3, 11, 2, 17, 2).permute(0, 2, 4, 1, 3).reshape(12, 11, 17)
    assert torch.equal(seen[0][0], folded)
    assert (doubled.width, doubled.height) == (68, 44)
    odd = upscaler.upscale(noise(33, 21), 2, "x2")  # sides the fold does not divide
    assert (odd.width, odd.height) == (66, 42)
    assert (upscaler.upscale(noise(33, 21), 2, "x1").width, upscaler.network("x1").scale) == (66, 1)


def test_a_tiled_run_matches_the_whole_run_with_the_network_input_bounded(tmp_path: Path) -> None:
    save(tmp_path, "x2", upsamplings=1)
    tile, overlap = 128, 16
    upscaler = FolderUpscaler(UpscalerFolder(tmp_path), tile=tile, overlap=overlap)
    image = noise(600, 520, seed=7)
    network = upscaler.network("x2")
    expected = whole(network, image)
    inputs: list[tuple[int, ...]] = []
    network.register_forward_pre_hook(lambda _m, args: inputs.append(tuple(args[0].shape)))

    tiled = array(upscaler.upscale(image, 2, "x2"))

    assert len(inputs) == 25  # 5 x 5 tiles
    assert max(max(shape[-2:]) for shape in inputs) <= tile + 2 * overlap
    # Where one tile alone gives a pixel (outside the blended bands) it is the whole run's.
    rows = [w == 1.0 for w in _single(520, tile, overlap)]
    columns = [w == 1.0 for w in _single(600, tile, overlap)]
    alone = np.outer(rows, columns)
    difference = np.abs(tiled - expected).max(axis=2)
    assert 0.5 < alone.mean() < 0.9
    assert difference[alone].max() <= 1
    assert difference.max() <= 3  # and the bands blend without a seam
    assert difference.mean() < 0.1


def _single(length: int, tile: int, overlap: int) -> list[float]:
    """Per output pixel (scale 2) of an axis, the largest weight any tile gives it."""
    spans = plan(length, tile, overlap)
    best = [0.0] * (length * 2)
    for span, weights in zip(spans, axis_weights(spans, 2, overlap), strict=True):
        for offset, w in enumerate(weights):
            best[span.start * 2 + offset] = max(best[span.start * 2 + offset], w)
    return best


def test_a_factor_above_the_model_scale_runs_it_again(tmp_path: Path) -> None:
    save(tmp_path, "x2", upsamplings=1)
    upscaler = FolderUpscaler(UpscalerFolder(tmp_path))
    image = noise(20, 16)

    twice = upscaler.upscale(upscaler.upscale(image, 2, "x2"), 2, "x2")

    assert upscaler.upscale(image, 4, "x2") == twice
    assert upscaler.upscale(image, 3, "x2") == lanczos(twice, 60, 48)


def test_lanczos_needs_no_folder() -> None:
    upscaler = FolderUpscaler(UpscalerFolder(None))
    image = noise(30, 20)

    assert upscaler.upscale(image, 4, LANCZOS) == lanczos(image, 120, 80)
    assert upscaler.upscale(image, 1, LANCZOS) == image
    assert [i.name for i in upscaler.available()] == [LANCZOS]


def test_unknown_names_and_factors_are_refused(tmp_path: Path) -> None:
    save(tmp_path, "x4")
    upscaler = FolderUpscaler(UpscalerFolder(tmp_path), max_output_pixels=1000 * 1000)

    with pytest.raises(UnknownUpscaler) as unknown:
        upscaler.upscale(noise(8, 8), 2, "RealESRGAN_x4plus")
    assert (unknown.value.field, unknown.value.allowed) == ("upscaler", (LANCZOS, "x4"))
    for factor in (0, 5):
        with pytest.raises(InvalidValue) as bad:
            upscaler.upscale(noise(8, 8), factor, "x4")
        assert (bad.value.field, bad.value.allowed) == ("factor", ("1", "2", "3", "4"))
    assert upscaler.upscale(noise(250, 250), 4, LANCZOS).width == 1000  # a million pixels: the most made
    with pytest.raises(InvalidValue, match="1004x1000"):
        upscaler.upscale(noise(251, 250), 4, LANCZOS)
    with pytest.raises(InvalidValue, match="2000x2000"):  # the model's 4x, before Lanczos brings it to 2x
        upscaler.upscale(noise(500, 500), 2, "x4")


def test_a_file_that_is_no_esrgan_network_fails_as_a_generation_error(tmp_path: Path) -> None:
    (tmp_path / "garbage.pth").write_bytes(b"not a zip, not a pickle")
    torch.save([1, 2, 3], tmp_path / "list.pth")
    torch.save(torch.nn.Conv2d(3, 3, 3), tmp_path / "module.pth")  # a pickled object: not unpickled
    torch.save({"conv_in.weight": torch.zeros(4, 3, 3, 3)}, tmp_path / "unet.pth")
    upscaler = FolderUpscaler(UpscalerFolder(tmp_path))

    for name, reason in (("garbage", ""), ("list", "holds a list"), ("module", ""), ("unet", "key layout")):
        with pytest.raises(GenerationError, match=f"upscaler {name!r} could not be loaded: .*{reason}"):
            upscaler.upscale(noise(8, 8), 2, name)


def test_networks_load_once_and_the_last_two_stay(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        save(tmp_path, name, upsamplings=1)
    upscaler = FolderUpscaler(UpscalerFolder(tmp_path))

    first = upscaler.network("a")
    assert upscaler.network("a") is first
    b, c = upscaler.network("b"), upscaler.network("c")

    assert upscaler.network("c") is c and upscaler.network("b") is b
    assert upscaler.network("a") is not first  # pushed out by b and c, loaded again
