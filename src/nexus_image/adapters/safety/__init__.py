"""Output image checks: NudeNet (the `safety` extra, imported on first use) or none."""

from __future__ import annotations

from nexus_image.adapters.safety.nudenet import (
    DEFAULT_THRESHOLD,
    DEFAULT_UNSAFE_LABELS,
    NUDENET_LABELS,
    NudeNetChecker,
    nudenet_available,
)
from nexus_image.application.ports import RawImage
from nexus_image.application.ports.safety import ImageSafetyVerdict


class NoImageCheck:
    """Passes every image: for deployments that check images elsewhere, or not at all."""

    @property
    def name(self) -> str:
        return "none"

    def check(self, image: RawImage) -> ImageSafetyVerdict:
        return ImageSafetyVerdict(safe=True, score=0.0, labels=(), checker=self.name)


__all__ = [
    "DEFAULT_THRESHOLD",
    "DEFAULT_UNSAFE_LABELS",
    "NUDENET_LABELS",
    "NoImageCheck",
    "NudeNetChecker",
    "nudenet_available",
]
