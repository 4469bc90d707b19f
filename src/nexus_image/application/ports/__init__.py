"""Ports: what the use cases need from the outside world, one small module per need.

Everything is re-exported here for callers that want one import."""

from nexus_image.application.ports.account_data import AccountDataRepository, ImageCursor
from nexus_image.application.ports.audit import AuditLog, AuditRecord
from nexus_image.application.ports.encoding import (
    EncodedImage,
    ImageDecoder,
    ImageEncoder,
    ImageTextReader,
    InspectedImage,
)
from nexus_image.application.ports.generation import (
    BatchImageGenerator,
    ImageGenerator,
    LoraCatalog,
    LoraFile,
    ModelCatalog,
    ModelLoader,
    OfferedModel,
    PreviewingStepCallback,
    RawImage,
    RenderSpec,
    StepCallback,
    default_model,
)
from nexus_image.application.ports.health import HealthCheck, HealthChecks
from nexus_image.application.ports.limits import RateLimiter, RateLimitLog
from nexus_image.application.ports.live import LiveEventFeed, LiveSubscription
from nexus_image.application.ports.messaging import BatchEventPublisher, Delivery, EventPublisher, JobQueue
from nexus_image.application.ports.metrics import Metrics, NullMetrics
from nexus_image.application.ports.moderation import ModerationVerdict, PromptModerator
from nexus_image.application.ports.outbox import Outbox, OutboxRecord
from nexus_image.application.ports.presets import PresetRepository
from nexus_image.application.ports.queue import (
    InRotation,
    Leadership,
    QueueRepository,
    QueueShape,
    WorkerSeat,
)
from nexus_image.application.ports.repositories import (
    AccountRepository,
    AlbumRepository,
    FavoriteRepository,
    IdempotencyRepository,
    JobRepository,
    Page,
    UploadRepository,
)
from nexus_image.application.ports.safety import ImageSafetyChecker, ImageSafetyVerdict
from nexus_image.application.ports.service_keys import ServiceKeyRepository
from nexus_image.application.ports.storage import ListedObject, ObjectStorage, StoredObject
from nexus_image.application.ports.system import Clock, IdGenerator, SeedSource
from nexus_image.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from nexus_image.application.ports.upscaling import (
    LANCZOS,
    MAX_UPSCALE_FACTOR,
    Upscaler,
    UpscalerCatalog,
    UpscalerInfo,
)

__all__ = [
    "LANCZOS",
    "MAX_UPSCALE_FACTOR",
    "AccountDataRepository",
    "AccountRepository",
    "AlbumRepository",
    "AuditLog",
    "AuditRecord",
    "BatchEventPublisher",
    "BatchImageGenerator",
    "Clock",
    "Delivery",
    "EncodedImage",
    "EventPublisher",
    "FavoriteRepository",
    "HealthCheck",
    "HealthChecks",
    "IdGenerator",
    "IdempotencyRepository",
    "ImageCursor",
    "ImageDecoder",
    "ImageEncoder",
    "ImageGenerator",
    "ImageSafetyChecker",
    "ImageSafetyVerdict",
    "ImageTextReader",
    "InRotation",
    "InspectedImage",
    "JobQueue",
    "JobRepository",
    "Leadership",
    "ListedObject",
    "LiveEventFeed",
    "LiveSubscription",
    "LoraCatalog",
    "LoraFile",
    "Metrics",
    "ModelCatalog",
    "ModelLoader",
    "ModerationVerdict",
    "NullMetrics",
    "ObjectStorage",
    "OfferedModel",
    "Outbox",
    "OutboxRecord",
    "Page",
    "PresetRepository",
    "PreviewingStepCallback",
    "PromptModerator",
    "QueueRepository",
    "QueueShape",
    "RateLimitLog",
    "RateLimiter",
    "RawImage",
    "RenderSpec",
    "SeedSource",
    "ServiceKeyRepository",
    "StepCallback",
    "StoredObject",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UploadRepository",
    "Upscaler",
    "UpscalerCatalog",
    "UpscalerInfo",
    "WorkerSeat",
    "default_model",
]
