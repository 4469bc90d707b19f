"""Upscalers: ESRGAN networks from the operator's folder (run in feathered tiles), and Lanczos.

Only the light parts are imported here; torch loads on the first model run."""

from nexus_image.adapters.upscaling.folder import UpscalerFolder
from nexus_image.adapters.upscaling.upscaler import FolderUpscaler

__all__ = ["FolderUpscaler", "UpscalerFolder"]
