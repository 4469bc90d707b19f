"""Building the application from settings: the one place that picks adapters.

Each `build_*` function picks one port's adapter from the settings; `build_application`
assembles them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nexus_image.adapters.filesystem import FileStorage
from nexus_image.adapters.imaging import PillowEncoder
from nexus_image.adapters.memory import InMemoryQueue, MemoryStore
from nexus_image.adapters.moderation import RuleBasedModerator
from nexus_image.adapters.system import RandomSeeds, SystemClock, UuidGenerator
from nexus_image.application.ports import (
    EventPublisher,
    ImageGenerator,
    JobQueue,
    Metrics,
    ObjectStorage,
    UnitOfWorkFactory,
)
from nexus_image.application.service import Dependencies, ImageService, NullMetrics
from nexus_image.entrypoints.settings import Settings


@dataclass
class Application:
    """A built application: the facade plus the pieces entry points run (queue, generator)."""

    settings: Settings
    service: ImageService
    queue: JobQueue | None
    generator: ImageGenerator | None
    closers: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()


def build_generator(settings: Settings) -> ImageGenerator:
    from nexus_image.adapters.diffusers import DiffusersGenerator, GeneratorOptions

    return DiffusersGenerator(
        GeneratorOptions(
            model=settings.model,
            model_config=settings.model_config_dir,
            cache_dir=settings.model_cache_dir,
            device=settings.device,
            dtype=settings.dtype,
            threads=settings.threads,
            low_memory=settings.low_memory,
        )
    )


def build_moderator(settings: Settings) -> RuleBasedModerator:
    if settings.moderation_rules is not None:
        return RuleBasedModerator.from_file(settings.moderation_rules)
    return RuleBasedModerator()


def build_uow_factory(settings: Settings, closers: list[Any]) -> UnitOfWorkFactory:
    """The database: in-process memory for now."""
    store = MemoryStore()
    factory: UnitOfWorkFactory = store.unit_of_work
    return factory


def build_storage(settings: Settings, closers: list[Any]) -> ObjectStorage:
    """Object storage: files under the data directory."""
    return FileStorage(settings.files_dir)


def build_messaging(settings: Settings, closers: list[Any]) -> tuple[EventPublisher, JobQueue]:
    """Where the outbox relay publishes, and where workers take jobs: the in-process queue."""
    queue = InMemoryQueue()
    return queue, queue


def build_application(
    settings: Settings,
    *,
    with_worker: bool = True,
    generator: ImageGenerator | None = None,
    live_events: EventPublisher | None = None,
    metrics: Metrics | None = None,
    worker_id: str = "embedded",
) -> Application:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    closers: list[Any] = []
    uow_factory = build_uow_factory(settings, closers)
    publisher, queue = build_messaging(settings, closers)
    if with_worker and generator is None:
        generator = build_generator(settings)
    deps = Dependencies(
        uow_factory=uow_factory,
        storage=build_storage(settings, closers),
        moderator=build_moderator(settings),
        clock=SystemClock(),
        ids=UuidGenerator(),
        seeds=RandomSeeds(),
        publisher=publisher,
        generator=generator if with_worker else None,
        encoder=PillowEncoder() if with_worker else None,
        live_events=live_events,
        metrics=metrics or NullMetrics(),
        welcome_grant=settings.effective_welcome_tokens,
        worker_id=worker_id,
    )
    return Application(settings, ImageService(deps), queue, deps.generator, closers)
