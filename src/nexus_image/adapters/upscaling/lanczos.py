"""Resampling with Pillow's Lanczos filter: the upscaler that needs no file, and the last step
of a model whose own scale is not the factor asked."""

from __future__ import annotations

from PIL import Image

from nexus_image.application.ports import RawImage


def resize(image: RawImage, width: int, height: int) -> RawImage:
    if (width, height) == (image.width, image.height):
        return image
    picture = Image.frombytes("RGB", (image.width, image.height), image.pixels)
    resized = picture.resize((width, height), Image.Resampling.LANCZOS)
    return RawImage(width, height, resized.tobytes())
