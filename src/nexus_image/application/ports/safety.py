"""Checking a finished image before anyone sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from nexus_image.application.ports.generation import RawImage


@dataclass(frozen=True, slots=True)
class ImageSafetyVerdict:
    """`score` is the highest unsafe score found (0 to 1); `labels` the unsafe classes that
    reached their threshold. An image with any such label is not safe."""

    safe: bool
    score: float = 0.0
    labels: tuple[str, ...] = ()
    checker: str = "none"


class ImageSafetyChecker(Protocol):
    @property
    def name(self) -> str: ...

    def check(self, image: RawImage) -> ImageSafetyVerdict: ...
