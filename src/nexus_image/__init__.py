"""nexus-image: multi-user text-to-image generation with Stable Diffusion.

The public API: `compose(role, settings, **overrides)` builds the application of a role (its
`.service` is the ImageService); `in_memory_service()` gives one on in-memory fakes for tests and
experiments. The fakes themselves are in `nexus_image.testing`."""

from __future__ import annotations

from typing import Any

from nexus_image.application import (
    AlbumView,
    ApplicationError,
    Conflict,
    Dependencies,
    GenerateImage,
    IdempotencyConflict,
    ImageService,
    ImageView,
    NotFound,
    Page,
    PromptRejected,
    StorageUnavailable,
)
from nexus_image.application.ports import ImageGenerator
from nexus_image.domain import (
    AccessDenied,
    DomainError,
    IllegalTransition,
    InsufficientTokens,
    InvalidValue,
    JobStatus,
    Resolution,
    Style,
)

__version__ = "0.1.0"


def in_memory_service(welcome_grant: int = 100, generator: ImageGenerator | None = None) -> ImageService:
    """An ImageService on fakes of every port (see `nexus_image.testing`). Without `generator`,
    images are fast deterministic patterns (no model, no torch); pass a DiffusersGenerator for
    real ones."""
    from nexus_image.entrypoints.composition import in_memory_service as build

    return build(welcome_grant, generator)


def compose(role: str, settings: Any = None, **overrides: Any) -> Any:
    """The application of one role (`memory`, `cli`, `embedded`, `api`, `worker`), from the
    settings (NEXUS_IMAGE_* by default), with any provider replaced by name: see
    `nexus_image.entrypoints.composition`. Its `.service` is the ImageService."""
    from nexus_image.entrypoints.composition import compose as build

    return build(role, settings, **overrides)


__all__ = [
    "AccessDenied",
    "AlbumView",
    "ApplicationError",
    "Conflict",
    "Dependencies",
    "DomainError",
    "GenerateImage",
    "IdempotencyConflict",
    "IllegalTransition",
    "ImageService",
    "ImageView",
    "InsufficientTokens",
    "InvalidValue",
    "JobStatus",
    "NotFound",
    "Page",
    "PromptRejected",
    "Resolution",
    "StorageUnavailable",
    "Style",
    "__version__",
    "compose",
    "in_memory_service",
]
