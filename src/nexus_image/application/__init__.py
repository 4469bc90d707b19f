"""Use cases and the ports they need. Depends on the domain only."""

from nexus_image.application.dto import AlbumView, GenerateImage, ImageView, ProcessOutcome
from nexus_image.application.errors import (
    ApplicationError,
    ConcurrentUpdate,
    Conflict,
    DatabaseUnavailable,
    GenerationInterrupted,
    IdempotencyConflict,
    IdempotencyKeySpent,
    NotFound,
    NotVisible,
    PromptRejected,
    QueueUnavailable,
    StorageUnavailable,
)
from nexus_image.application.ports import NullMetrics, Page
from nexus_image.application.service import Dependencies, ImageService

__all__ = [
    "AlbumView",
    "ApplicationError",
    "ConcurrentUpdate",
    "Conflict",
    "DatabaseUnavailable",
    "Dependencies",
    "GenerateImage",
    "GenerationInterrupted",
    "IdempotencyConflict",
    "IdempotencyKeySpent",
    "ImageService",
    "ImageView",
    "NotFound",
    "NotVisible",
    "NullMetrics",
    "Page",
    "ProcessOutcome",
    "PromptRejected",
    "QueueUnavailable",
    "StorageUnavailable",
]
