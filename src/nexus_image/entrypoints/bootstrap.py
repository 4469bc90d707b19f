"""Building the application from settings: the one place that picks adapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nexus_image.adapters.filesystem import FileStorage
from nexus_image.adapters.imaging import PillowEncoder
from nexus_image.adapters.memory import InMemoryQueue, MemoryStore
from nexus_image.adapters.moderation import RuleBasedModerator
from nexus_image.adapters.system import RandomSeeds, SystemClock, UuidGenerator
from nexus_image.application.ports import EventPublisher, ImageGenerator, JobQueue, Metrics, UnitOfWorkFactory
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


def build_application(
    settings: Settings,
    *,
    with_worker: bool = True,
    generator: ImageGenerator | None = None,
    live_events: EventPublisher | None = None,
    metrics: Metrics | None = None,
    worker_id: str = "embedded",
) -> Application:
    """Embedded defaults: in-process store and queue, files under the data directory."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = MemoryStore()
    uow_factory: UnitOfWorkFactory = store.unit_of_work
    queue = InMemoryQueue()
    if with_worker and generator is None:
        generator = build_generator(settings)
    deps = Dependencies(
        uow_factory=uow_factory,
        storage=FileStorage(settings.files_dir),
        moderator=build_moderator(settings),
        clock=SystemClock(),
        ids=UuidGenerator(),
        seeds=RandomSeeds(),
        publisher=queue,
        generator=generator if with_worker else None,
        encoder=PillowEncoder() if with_worker else None,
        live_events=live_events,
        metrics=metrics or NullMetrics(),
        welcome_grant=settings.effective_welcome_tokens,
        worker_id=worker_id,
    )
    return Application(settings, ImageService(deps), queue, deps.generator)
