"""nexus-image: multi-user text-to-image generation with Stable Diffusion.

The public API: build an `ImageService` from `Dependencies` (ports), or get one wired with
in-memory adapters from `in_memory_service()` for tests and experiments."""

from __future__ import annotations

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
    """An ImageService on in-memory adapters. Without `generator`, images are fast deterministic
    patterns (no model, no torch); pass a DiffusersGenerator for real ones."""
    from nexus_image.adapters.imaging import PillowEncoder
    from nexus_image.adapters.memory import InMemoryQueue, InMemoryStorage, MemoryStore, PatternGenerator
    from nexus_image.adapters.moderation import RuleBasedModerator
    from nexus_image.adapters.system import RandomSeeds, SystemClock, UuidGenerator

    store = MemoryStore()
    return ImageService(
        Dependencies(
            uow_factory=store.unit_of_work,
            storage=InMemoryStorage(),
            moderator=RuleBasedModerator(),
            clock=SystemClock(),
            ids=UuidGenerator(),
            seeds=RandomSeeds(),
            publisher=InMemoryQueue(),
            generator=generator or PatternGenerator(),
            encoder=PillowEncoder(),
            welcome_grant=welcome_grant,
        )
    )


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
    "in_memory_service",
]
