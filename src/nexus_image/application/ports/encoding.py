"""Turning raw pixels into the stored PNG and its thumbnail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from nexus_image.application.ports.generation import RawImage


@dataclass(frozen=True, slots=True)
class EncodedImage:
    image: bytes
    image_content_type: str
    thumbnail: bytes
    thumbnail_content_type: str
    thumbnail_extension: str


class ImageEncoder(Protocol):
    def encode(self, raw: RawImage, metadata: Mapping[str, str]) -> EncodedImage:
        """A PNG carrying `metadata` as text chunks, and a small thumbnail."""

    def preview(self, raw: RawImage, max_bytes: int) -> bytes:
        """A small WebP of a picture in progress, at most `max_bytes` (lower quality first,
        then a smaller size)."""


class ImageTextReader(Protocol):
    def text_chunks(self, data: bytes) -> dict[str, str]:
        """The text an image file carries (a PNG's text chunks), read without decoding its
        pixels; ValueError when `data` is not such a file."""


@dataclass(frozen=True, slots=True)
class InspectedImage:
    """An uploaded picture, checked and normalised: its size, the format it came in, and the
    PNG stored for it (orientation applied, metadata dropped)."""

    width: int
    height: int
    source_format: str  # "png", "jpeg", "webp"
    png: bytes


class ImageDecoder(Protocol):
    def inspect(self, data: bytes, max_side: int, mask_from_alpha: bool = False) -> InspectedImage:
        """Read an uploaded PNG, JPEG or WebP of at most `max_side` pixels a side, its header
        checked before any pixel is decoded; InvalidImage (domain) when it is none of these,
        is damaged, or is too large. With `mask_from_alpha`, the picture is a mask drawn in its
        transparency (OpenAI's convention) and is stored as a mask of ours: transparent pixels
        white (repainted), opaque ones black (kept); InvalidImage when it has no transparency."""

    def decode(self, data: bytes, width: int, height: int) -> RawImage:
        """A stored upload as RGB pixels at `width` x `height` (scaled to cover, then cropped
        to the centre, so the aspect ratio is kept)."""
