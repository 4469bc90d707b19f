"""PNG with text chunks (so an image can be reproduced) and a thumbnail 256 px on its long side."""

from __future__ import annotations

import io
from collections.abc import Mapping

from PIL import Image, PngImagePlugin

from nexus_image.application.ports import EncodedImage, RawImage

THUMBNAIL_SIZE = 256
PREVIEW_SIZE = 128  # pixels on the long side of a live preview


class PillowEncoder:
    def __init__(self, thumbnail_size: int = THUMBNAIL_SIZE, thumbnail_format: str = "WEBP") -> None:
        if thumbnail_format not in {"WEBP", "JPEG"}:
            raise ValueError("thumbnail_format must be WEBP or JPEG")
        self.thumbnail_size = thumbnail_size
        self.thumbnail_format = thumbnail_format

    def encode(self, raw: RawImage, metadata: Mapping[str, str]) -> EncodedImage:
        image = Image.frombytes("RGB", (raw.width, raw.height), raw.pixels)
        info = PngImagePlugin.PngInfo()
        for key, value in metadata.items():
            info.add_itxt(key, value)  # iTXt: UTF-8, so any prompt survives
        png = io.BytesIO()
        image.save(png, format="PNG", pnginfo=info, compress_level=6)

        thumb = image.copy()
        thumb.thumbnail((self.thumbnail_size, self.thumbnail_size), Image.Resampling.LANCZOS)
        small = io.BytesIO()
        if self.thumbnail_format == "WEBP":
            thumb.save(small, format="WEBP", quality=82, method=4)
            content_type, extension = "image/webp", "webp"
        else:
            thumb.save(small, format="JPEG", quality=85, optimize=True)
            content_type, extension = "image/jpeg", "jpg"
        return EncodedImage(png.getvalue(), "image/png", small.getvalue(), content_type, extension)

    def preview(self, raw: RawImage, max_bytes: int) -> bytes:
        image = Image.frombytes("RGB", (raw.width, raw.height), raw.pixels)
        if max(image.size) < PREVIEW_SIZE:  # latents are an eighth of the image: show them larger
            scale = PREVIEW_SIZE / max(image.size)
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            image = image.resize(size, Image.Resampling.BILINEAR)
        data = b""
        while True:
            for quality in (60, 40, 20):
                out = io.BytesIO()
                image.save(out, format="WEBP", quality=quality, method=4)
                data = out.getvalue()
                if len(data) <= max_bytes:
                    return data
            if max(image.size) <= 16:
                return data
            image = image.resize(
                (max(1, image.width // 2), max(1, image.height // 2)), Image.Resampling.BILINEAR
            )


def read_png_metadata(data: bytes) -> dict[str, str]:
    """The text chunks of a PNG, e.g. to reproduce an image from its file."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return {k: str(v) for k, v in getattr(image, "text", {}).items()}
