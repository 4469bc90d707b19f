"""Pillow encoding: PNG with the generation parameters embedded, plus a WebP thumbnail."""

from nexus_image.adapters.imaging.pillow import PillowDecoder, PillowEncoder, read_png_metadata
from nexus_image.adapters.imaging.png_text import PngTextReader, png_text

__all__ = ["PillowDecoder", "PillowEncoder", "PngTextReader", "png_text", "read_png_metadata"]
