"""Pillow encoding: PNG with the generation parameters embedded, plus a WebP thumbnail."""

from nexus_image.adapters.imaging.pillow import PillowEncoder, read_png_metadata

__all__ = ["PillowEncoder", "read_png_metadata"]
