"""Building the application from settings: the one place that picks adapters.

Each `build_*` function picks one port's adapter from the settings; `build_application`
assembles them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nexus_image.adapters.filesystem import FileStorage
from nexus_image.adapters.imaging import PillowEncoder
from nexus_image.adapters.memory import InMemoryQueue
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
    """The database: NEXUS_IMAGE_DATABASE_URL, or else the embedded SQLite file under the data
    directory. SQLite is migrated on every start (a no-op when up to date); a PostgreSQL server
    only by `nexus-image db upgrade`: production schema changes are a deliberate step."""
    from nexus_image.adapters.sqlalchemy import SqlDatabase, create_engine_for, database_url, migrate

    engine = create_engine_for(database_url(settings.database_url, settings.data_dir))
    closers.append(engine.dispose)
    if engine.dialect.name == "sqlite":
        migrate(engine)
    factory: UnitOfWorkFactory = SqlDatabase(engine).unit_of_work
    return factory


def build_storage(settings: Settings, closers: list[Any]) -> ObjectStorage:
    """Object storage: S3/MinIO when an endpoint is set, otherwise files under the data directory."""
    if not settings.s3_endpoint:
        return FileStorage(settings.files_dir)
    from nexus_image.adapters.minio import S3ObjectStorage

    def secret(value: Any) -> str | None:
        return value.get_secret_value() if value is not None else None

    return S3ObjectStorage(
        settings.s3_endpoint,
        secret(settings.s3_access_key),
        secret(settings.s3_secret_key),
        settings.s3_bucket,
        region=settings.s3_region,
        secure=settings.s3_secure,
        presign_seconds=settings.s3_presign_seconds,
        public_base_url=settings.s3_public_base_url,
    )


def build_messaging(settings: Settings, closers: list[Any]) -> tuple[EventPublisher, JobQueue]:
    """Where the outbox relay publishes, and where workers take jobs: Kafka when bootstrap
    servers are set (the consumer joins its group only when a worker first receives),
    otherwise the in-process queue."""
    if not settings.kafka_bootstrap_servers:
        queue = InMemoryQueue()
        return queue, queue
    from nexus_image.adapters.kafka import KafkaEventPublisher, KafkaJobQueue, Topics, client_config

    config = client_config(settings.kafka_bootstrap_servers, settings.kafka_client_config)
    topics = Topics(settings.kafka_topic_prefix)
    publisher = KafkaEventPublisher(config, topics)
    jobs = KafkaJobQueue(config, topics.requests)
    closers.extend([publisher.close, jobs.close])
    return publisher, jobs


RATE_WINDOW_SECONDS = 60.0


def build_rate_limiter(settings: Settings, closers: list[Any]) -> Any:
    """Per-user limits of the HTTP API: counted in the database when one is configured (every
    API replica shares the counts), otherwise in this process. The limiter has its own small
    connection pool, so a burst of refused requests never starves the use cases of connections."""
    if not settings.database_url:
        from nexus_image.adapters.memory.rate_limit import SlidingWindowLimiter

        return SlidingWindowLimiter(settings.rate_limit_per_minute, RATE_WINDOW_SECONDS)
    from nexus_image.adapters.sqlalchemy import create_engine_for
    from nexus_image.adapters.sqlalchemy.rate_limit import SqlRateLimiter

    engine = create_engine_for(settings.database_url, pool_size=2, max_overflow=8)
    closers.append(engine.dispose)
    return SqlRateLimiter(engine, settings.rate_limit_per_minute, RATE_WINDOW_SECONDS)


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
