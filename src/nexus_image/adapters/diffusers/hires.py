"""The pieces of a hires fix and of seamless tiling that are not the pipeline's own: the first
pass enlarged (its latents, or its pixels by Lanczos or an upscaler model), and the UNet's and
VAE's convolutions made to wrap around for one run."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from nexus_image.application.errors import GenerationError
from nexus_image.application.ports import RawImage
from nexus_image.application.ports.upscaling import Upscaler
from nexus_image.domain.parameters import LANCZOS_UPSCALER


def enlarged_latents(latents: Any, width: int, height: int) -> Any:
    """The first pass's latents at the second pass's size (`width`, `height` in pixels):
    bilinear, as AUTOMATIC1111's "Latent" upscaler does; the second pass then denoises them."""
    import torch

    size = (height // 8, width // 8)
    return torch.nn.functional.interpolate(latents.float(), size=size, mode="bilinear").to(latents.dtype)


def enlarged_picture(pixels: Any, width: int, height: int, name: str, upscaler: Upscaler | None) -> Any:
    """One first-pass picture (a float array in 0..1, height x width x 3) as a PIL image of
    `width` by `height`: Lanczos alone, or an upscaler model at 2x then Lanczos to the size."""
    import numpy as np
    from PIL import Image

    array = (np.clip(pixels, 0.0, 1.0) * 255).round().astype("uint8")
    picture = Image.fromarray(array)
    if name != LANCZOS_UPSCALER:
        if upscaler is None:
            raise GenerationError(f"upscaler {name!r} asked for, but this worker has none")
        raw = upscaler.upscale(RawImage(picture.width, picture.height, array.tobytes()), 2, name)
        picture = Image.frombytes("RGB", (raw.width, raw.height), raw.pixels)
    if picture.size != (width, height):
        picture = picture.resize((width, height), Image.Resampling.LANCZOS)
    return picture


@contextlib.contextmanager
def seamless(pipe: Any, on: bool) -> Iterator[None]:
    """With `on`, every 2D convolution of the UNet and the VAE pads circularly for the run (the
    image's edges continue each other: a texture that tiles); put back as it was after."""
    if not on:
        yield
        return
    import torch

    convolutions = [
        module
        for part in (pipe.unet, pipe.vae)
        for module in part.modules()
        if isinstance(module, torch.nn.Conv2d)
    ]
    before = [conv.padding_mode for conv in convolutions]
    for conv in convolutions:
        conv.padding_mode = "circular"
    try:
        yield
    finally:
        for conv, mode in zip(convolutions, before, strict=True):
            conv.padding_mode = mode
