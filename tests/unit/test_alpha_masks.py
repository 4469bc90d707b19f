"""Masks drawn in transparency (OpenAI's convention: transparent = paint here) stored as masks of
ours (white = repaint, black = keep), as the OpenAI-compatible edits need."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from nexus_image.adapters.imaging import PillowDecoder
from nexus_image.domain.errors import InvalidImage


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_transparent_pixels_become_white_and_opaque_ones_black() -> None:
    drawn = Image.new("RGBA", (40, 20), (255, 255, 255, 255))  # opaque white: kept, whatever its colour
    drawn.paste((0, 0, 0, 0), (0, 0, 10, 10))  # transparent: repainted
    drawn.paste((9, 9, 9, 128), (20, 0, 30, 10))  # half transparent: half
    stored = PillowDecoder().inspect(png(drawn), 2048, mask_from_alpha=True)
    with Image.open(io.BytesIO(stored.png)) as mask:
        assert mask.mode == "RGB" and (mask.width, mask.height) == (40, 20)
        assert mask.getpixel((5, 5)) == (255, 255, 255)
        assert mask.getpixel((35, 15)) == (0, 0, 0)
        assert mask.getpixel((25, 5)) == (127, 127, 127)


def test_a_mask_without_transparency_is_refused() -> None:
    with pytest.raises(InvalidImage, match="transparen"):
        PillowDecoder().inspect(png(Image.new("RGB", (8, 8), (255, 255, 255))), 2048, mask_from_alpha=True)
