"""Enlarging finished images: by a model the operator installed, or by Lanczos resampling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from nexus_image.application.ports.generation import RawImage

LANCZOS = "lanczos"  # always offered: a resampling filter, no file behind it
MAX_UPSCALE_FACTOR = 4


@dataclass(frozen=True, slots=True)
class UpscalerInfo:
    """One upscaler a request may name. `scale` is the model's own enlargement (None: any
    factor, or not known until the file is loaded); `kind` says what runs it ("lanczos",
    "esrgan"); `size` is the file's bytes (None: no file)."""

    name: str
    scale: int | None
    kind: str
    size: int | None


@runtime_checkable
class UpscalerCatalog(Protocol):
    """The upscalers the operator allows (a request may name only these)."""

    def available(self) -> list[UpscalerInfo]: ...


@runtime_checkable
class Upscaler(Protocol):
    """Enlarges an image `factor` times (1 to MAX_UPSCALE_FACTOR) with the upscaler called
    `name`; an unknown name raises UnknownUpscaler with the allowed names, a factor out of
    range InvalidValue."""

    def upscale(self, image: RawImage, factor: int, name: str) -> RawImage: ...
