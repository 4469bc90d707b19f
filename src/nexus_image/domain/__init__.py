"""The business rules of image generation. Standard library only."""

from nexus_image.domain.account import EntryKind, LedgerEntry, TokenAccount
from nexus_image.domain.album import Album
from nexus_image.domain.errors import (
    AccessDenied,
    DomainError,
    IllegalTransition,
    ImageDataRemoved,
    ImageNotInAlbum,
    InsufficientTokens,
    InvalidAmount,
    InvalidValue,
    UnknownScheduler,
    UnknownStyle,
    UnsupportedResolution,
)
from nexus_image.domain.events import (
    DomainEvent,
    GenerationCancelled,
    GenerationCompleted,
    GenerationDispatched,
    GenerationExpired,
    GenerationFailed,
    GenerationProgress,
    GenerationRequested,
    GenerationStarted,
)
from nexus_image.domain.job import ImageJob, JobStatus
from nexus_image.domain.parameters import GenerationParameters, Scheduler
from nexus_image.domain.resolution import Resolution, price
from nexus_image.domain.styles import Style
from nexus_image.domain.transition import LedgerMovement, Transition

__all__ = [
    "AccessDenied",
    "Album",
    "DomainError",
    "DomainEvent",
    "EntryKind",
    "GenerationCancelled",
    "GenerationCompleted",
    "GenerationDispatched",
    "GenerationExpired",
    "GenerationFailed",
    "GenerationParameters",
    "GenerationProgress",
    "GenerationRequested",
    "GenerationStarted",
    "IllegalTransition",
    "ImageDataRemoved",
    "ImageJob",
    "ImageNotInAlbum",
    "InsufficientTokens",
    "InvalidAmount",
    "InvalidValue",
    "JobStatus",
    "LedgerEntry",
    "LedgerMovement",
    "Resolution",
    "Scheduler",
    "Style",
    "TokenAccount",
    "Transition",
    "UnknownScheduler",
    "UnknownStyle",
    "UnsupportedResolution",
    "price",
]
