"""The dependency-injection container of the HTTP service (and its embedded worker).

Adapters are chosen by the `build_*` functions of `bootstrap` (the one place that picks them);
the container only decides lifetimes: one engine, client, queue, broadcaster and model per
process (singletons), a fresh use-case object per request (factories). Tests override
providers, e.g. `container.generator.override(providers.Object(PatternGenerator()))`."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from operator import attrgetter, itemgetter
from typing import Any

from dependency_injector import containers, providers

from nexus_image.adapters.imaging import PillowEncoder
from nexus_image.adapters.memory.broadcast import LiveEventBroadcaster, TeePublisher
from nexus_image.adapters.prometheus import PrometheusMetrics
from nexus_image.adapters.system import RandomSeeds, SystemClock, UuidGenerator
from nexus_image.application.albums import ManageAlbums
from nexus_image.application.audit import RecordAudit
from nexus_image.application.cancel import CancelGeneration
from nexus_image.application.images import ImageQueries, ManageImages
from nexus_image.application.ports import UnitOfWorkFactory
from nexus_image.application.request_generation import RequestGeneration
from nexus_image.application.service import Dependencies, ImageService
from nexus_image.application.tokens import ManageTokens
from nexus_image.entrypoints.bootstrap import (
    build_generator,
    build_messaging,
    build_moderator,
    build_rate_limiter,
    build_storage,
    build_uow_factory,
)
from nexus_image.entrypoints.settings import Settings

QUEUE_COUNTS_TTL = 1.0


def build_metrics(uow_factory: UnitOfWorkFactory) -> PrometheusMetrics:
    """Business series with their own registry; the queue gauges read job counts at scrape time
    (cached for a second: two gauges, one query)."""
    metrics = PrometheusMetrics()
    cache: dict[str, Any] = {"at": 0.0, "counts": {}}
    lock = threading.Lock()

    def counts() -> dict[str, int]:
        with lock:
            if time.monotonic() - cache["at"] > QUEUE_COUNTS_TTL:
                with uow_factory() as uow:
                    cache["counts"] = uow.jobs.count_by_status()
                cache["at"] = time.monotonic()
            result: dict[str, int] = cache["counts"]
            return result

    metrics.track_queue(counts)
    return metrics


def when_worker(settings: Settings, provider: Callable[[], Any]) -> Any:
    """What only an embedded worker needs (the model, the encoder): None for an API alone."""
    return provider() if settings.embedded_worker else None


def build_service(deps: Dependencies, settings: Settings) -> ImageService:
    service = ImageService(deps)
    service.recover.timeout = timedelta(seconds=settings.stale_job_seconds)
    return service


def default_worker_id() -> str:
    return f"api-{socket.gethostname()}-{os.getpid()}"


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    closers: providers.Singleton[list[Callable[[], None]]] = providers.Singleton(list)

    # --- one per process ---------------------------------------------------------------------
    uow_factory = providers.Singleton(build_uow_factory, settings, closers)
    storage = providers.Singleton(build_storage, settings, closers)
    messaging = providers.Singleton(build_messaging, settings, closers)
    job_queue = providers.Callable(itemgetter(1), messaging)
    live_events = providers.Singleton(LiveEventBroadcaster)
    # The outbox relay feeds the queue and, once the queue took an event, live watchers too.
    publisher = providers.Singleton(TeePublisher, providers.Callable(itemgetter(0), messaging), live_events)
    moderator = providers.Singleton(build_moderator, settings)
    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(UuidGenerator)
    seeds = providers.Singleton(RandomSeeds)
    metrics = providers.Singleton(build_metrics, uow_factory)
    rate_limiter = providers.Singleton(build_rate_limiter, settings, closers)
    generator = providers.Singleton(build_generator, settings)
    encoder = providers.Singleton(PillowEncoder)
    welcome_grant = providers.Callable(attrgetter("effective_welcome_tokens"), settings)
    worker_id = providers.Singleton(default_worker_id)
    deps = providers.Singleton(
        Dependencies,
        uow_factory=uow_factory,
        storage=storage,
        moderator=moderator,
        clock=clock,
        ids=ids,
        seeds=seeds,
        publisher=publisher,
        generator=providers.Callable(when_worker, settings, generator.provider),
        encoder=providers.Callable(when_worker, settings, encoder.provider),
        live_events=live_events,
        metrics=metrics,
        welcome_grant=welcome_grant,
        worker_id=worker_id,
    )
    service = providers.Singleton(build_service, deps, settings)

    # --- one per request ---------------------------------------------------------------------
    request_generation = providers.Factory(
        RequestGeneration, uow_factory, moderator, clock, ids, seeds, metrics, welcome_grant
    )
    cancel_generation = providers.Factory(CancelGeneration, uow_factory, clock, ids)
    image_queries = providers.Factory(ImageQueries, uow_factory, storage)
    manage_images = providers.Factory(ManageImages, uow_factory, storage, clock, ids)
    manage_albums = providers.Factory(ManageAlbums, uow_factory, image_queries, clock, ids)
    manage_tokens = providers.Factory(ManageTokens, uow_factory, clock, welcome_grant)
    record_audit = providers.Factory(RecordAudit, uow_factory, clock)


def close(container: Container) -> None:
    """Close what the adapters opened (engines, producers), last opened first."""
    for closer in reversed(container.closers()):
        closer()
