"""How each adapter is built from the settings. Only the container calls these; heavy or
optional libraries (torch, confluent-kafka, minio, prometheus-client) load only when the role
asks for the adapter."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The light adapters every role may build; the heavy ones (torch, Kafka, SQL, S3) are imported
# in the builder that needs them. This module is the only one outside `adapters/` that names
# adapters: the container wires them as `builders.X`.
from nexus_image.adapters.filesystem.loras import LoraFolder as LoraFolder
from nexus_image.adapters.imaging import PillowDecoder as PillowDecoder
from nexus_image.adapters.imaging import PillowEncoder as PillowEncoder
from nexus_image.adapters.imaging import PngTextReader as PngTextReader
from nexus_image.adapters.memory import InMemoryQueue as InMemoryQueue
from nexus_image.adapters.memory import LiveEventBroadcaster as LiveEventBroadcaster
from nexus_image.adapters.memory import TeePublisher as TeePublisher
from nexus_image.adapters.memory.pattern import PatternGenerator as PatternGenerator
from nexus_image.adapters.memory.storage import InMemoryStorage as InMemoryStorage
from nexus_image.adapters.models.errors import ModelError as ModelError
from nexus_image.adapters.system import Chime as Chime
from nexus_image.adapters.system import Doorbell as Doorbell
from nexus_image.adapters.system import RandomSeeds as RandomSeeds
from nexus_image.adapters.system import SystemClock as SystemClock
from nexus_image.adapters.system import UuidGenerator as UuidGenerator
from nexus_image.adapters.system import ringing as ringing
from nexus_image.application.errors import NotFound, QueueUnavailable
from nexus_image.application.limits import RateLimit
from nexus_image.application.ports import (
    BatchEventPublisher,
    BatchImageGenerator,
    EventPublisher,
    HealthCheck,
    ImageGenerator,
    JobQueue,
    ModelCatalog,
    ModelLoader,
    ObjectStorage,
    UnitOfWorkFactory,
)
from nexus_image.entrypoints.settings import Settings

if TYPE_CHECKING:  # the adapters themselves are imported when first built
    from nexus_image.adapters.kafka import KafkaEventFeed
    from nexus_image.adapters.models.store import ModelStore
    from nexus_image.adapters.moderation import LayeredModerator
    from nexus_image.adapters.prometheus import PrometheusMetrics, QueueGauges
    from nexus_image.adapters.sqlalchemy import OutboxListener
    from nexus_image.application.ports import ImageSafetyChecker, Upscaler, UpscalerCatalog
    from nexus_image.application.ports.prompt_tokens import PromptTokenCounter
    from nexus_image.domain.dynamic_prompts import WildcardSource

log = logging.getLogger(__name__)

Closers = list[Callable[[], None]]

RATE_WINDOW_SECONDS = 60.0
QUEUE_REFRESH_SECONDS = 5.0
RELAY_FALLBACK_SECONDS = 1.0  # the relay's look without a ring, where commits ring it
RELAY_POLL_SECONDS = 0.2  # where they cannot
PROBE_KEY = "readiness-probe/none"


def default_worker_id(role: str) -> str:
    """The name recorded on the jobs a process runs: host and pid (prefixed by the role,
    except for standalone workers, whose name is also their Kafka client id)."""
    name = f"{socket.gethostname()}-{os.getpid()}"
    return name if role == "worker" else f"{role}-{name}"


def recovery_interval(lease_seconds: float) -> float:
    """The longest pause of lease recovery, in every role that runs it (it also wakes when the
    earliest lease ends). Under a lease, so a lease taken during a pause is never missed."""
    return max(1.0, min(30.0, lease_seconds / 2))


# --- the database ------------------------------------------------------------------------------


def memory_database() -> UnitOfWorkFactory:
    from nexus_image.adapters.memory.database import MemoryStore

    factory: UnitOfWorkFactory = MemoryStore().unit_of_work
    return factory


def sql_database(settings: Settings, closers: Closers) -> UnitOfWorkFactory:
    """NEXUS_IMAGE_DATABASE_URL, or else the embedded SQLite file under the data directory.
    SQLite is migrated on every start (a no-op when up to date); a PostgreSQL server only by
    `nexus-image db upgrade`: production schema changes are a deliberate step."""
    from nexus_image.adapters.sqlalchemy import SqlDatabase, create_engine_for, database_url, migrate
    from nexus_image.adapters.sqlalchemy.engine import normalize_url

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url(settings.database_url, settings.data_dir)
    pool = settings.database_pool_size
    postgres = normalize_url(url).get_backend_name() == "postgresql"
    sized = {"pool_size": pool, "max_overflow": max(1, pool // 2)} if postgres else {}
    engine = create_engine_for(url, **sized)
    closers.append(engine.dispose)
    if engine.dialect.name == "sqlite":
        migrate(engine)
    factory: UnitOfWorkFactory = SqlDatabase(engine).unit_of_work
    return factory


def outbox_listener(settings: Settings, bell: Any, closers: Closers) -> OutboxListener | None:
    """On PostgreSQL, a LISTEN connection that rings the relay's bell for outbox rows committed
    by other processes (API replicas); None elsewhere (SQLite, memory: one process writes)."""
    if not settings.database_url:
        return None
    from nexus_image.adapters.sqlalchemy import OutboxListener, create_engine_for
    from nexus_image.adapters.sqlalchemy.engine import normalize_url

    url = normalize_url(settings.database_url)
    if url.get_backend_name() != "postgresql":
        return None  # no engine is made just to learn it is not one
    engine = create_engine_for(url, pool_size=1, max_overflow=0)
    closers.append(engine.dispose)
    return OutboxListener(engine, bell.ring)


def leadership(settings: Settings, plan: Any, closers: Closers) -> Any:
    """Who may be the dispatcher: a PostgreSQL advisory lock; with SQLite a lock file beside the
    database (every process of an embedded deployment shares its data directory); in memory,
    this process alone."""
    from nexus_image.adapters.system import FileLeadership, SoleLeadership

    if plan.database == "memory":
        return SoleLeadership()
    if settings.database_url:
        from nexus_image.adapters.sqlalchemy.engine import normalize_url

        url = normalize_url(settings.database_url)
        if url.get_backend_name() == "postgresql":
            from nexus_image.adapters.sqlalchemy.leadership import PostgresLeadership

            lock = PostgresLeadership(url)
            closers.append(lock.release)
            return lock
        return FileLeadership(Path(f"{url.database}.dispatcher.lock"))
    return FileLeadership(settings.data_dir / "dispatcher.lock")


DISPATCHING_ROLES = ("embedded", "worker", "dispatcher")


def dispatcher_loop(role: str, settings: Settings, dispatch: Any, lock: Any, bell: Any, listener: Any) -> Any:
    """A dispatcher candidate in the roles that run loops (unless NEXUS_IMAGE_SCHEDULER=false
    leaves it to `nexus-image dispatcher` processes); the standalone dispatcher always is one.
    Commits of other processes ring it through the PostgreSQL listener; without one it looks
    more often."""
    if role not in DISPATCHING_ROLES or (role != "dispatcher" and not settings.dispatcher):
        return None
    from nexus_image.entrypoints.worker.loops import DispatcherLoop

    heard = role == "embedded" or listener is not None
    return DispatcherLoop(dispatch, lock, bell, idle_seconds=1.0 if heard else 0.25)


TOPICS_RETRY_SECONDS = 10.0


def seat_loop(
    role: str,
    settings: Settings,
    seats: Any,
    worker_id: str,
    capacity: int,
    queue: Any,
    catalog: ModelCatalog,
) -> Any:
    """A generating role's seat: it takes `capacity` jobs ahead, from the partitions it reads.
    A worker that reads no partition yet (its broker was away when it started, so the topics
    may not exist) creates the missing topics now and then: nothing is dispatched to it before."""
    if role not in ("embedded", "worker"):
        return None
    import time

    from nexus_image.entrypoints.worker.loops import SeatLoop

    assigned = getattr(queue, "partitions", None)
    if assigned is None:
        return SeatLoop(seats, worker_id, capacity, lambda: None)
    tried = [float("-inf")]

    def partitions() -> dict[str, tuple[int, ...]] | None:
        found: dict[str, tuple[int, ...]] | None = assigned()
        if (
            found is not None
            and not any(found.values())
            and time.monotonic() - tried[0] >= TOPICS_RETRY_SECONDS
        ):
            tried[0] = time.monotonic()
            prepare_topics(settings, served_models(catalog))
        return found

    return SeatLoop(seats, worker_id, capacity, partitions)


def relay_idle_seconds(role: str, listener: Any) -> float:
    """How long the relay waits for a ring before it looks anyway: long where every writer rings
    it (one process, or PostgreSQL notifications), short where another process writes unheard."""
    if role in ("embedded", "memory", "cli") or listener is not None:
        return RELAY_FALLBACK_SECONDS
    return RELAY_POLL_SECONDS


def migrate_database(settings: Settings, revision: str) -> tuple[str, str]:
    """`db upgrade`: (the redacted URL, the revision reached). Raises MigrationError."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from nexus_image.adapters.sqlalchemy import database_url, migrate, redacted

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url(settings.database_url, settings.data_dir)
    try:
        return redacted(url), str(migrate(url, revision))
    except CommandError as error:
        raise MigrationError(str(error), bad_input=True) from error
    except SQLAlchemyError as error:
        raise MigrationError(f"database unavailable: {error}", bad_input=False) from error


class MigrationError(Exception):
    def __init__(self, message: str, bad_input: bool) -> None:
        super().__init__(message)
        self.bad_input = bad_input


# --- storage, messaging ------------------------------------------------------------------------


def file_storage(settings: Settings) -> ObjectStorage:
    from nexus_image.adapters.filesystem import FileStorage

    return FileStorage(settings.files_dir)


def s3_storage(settings: Settings) -> ObjectStorage:
    from nexus_image.adapters.minio import S3ObjectStorage

    def secret(value: Any) -> str | None:
        return value.get_secret_value() if value is not None else None

    assert settings.s3_endpoint is not None
    return S3ObjectStorage(
        settings.s3_endpoint,
        secret(settings.s3_access_key),
        secret(settings.s3_secret_key),
        settings.s3_bucket,
        region=settings.s3_region,
        secure=settings.s3_secure,
        presign_seconds=settings.s3_presign_seconds,
        public_base_url=settings.s3_public_base_url,
        public_endpoint=settings.s3_public_endpoint,
    )


def _kafka(settings: Settings) -> tuple[Any, Any]:
    from nexus_image.adapters.kafka import Topics, client_config

    assert settings.kafka_bootstrap_servers is not None
    config = client_config(settings.kafka_bootstrap_servers, settings.kafka_client_config)
    return config, Topics(settings.kafka_topic_prefix)


def kafka_publisher(settings: Settings, closers: Closers) -> EventPublisher:
    """Where the outbox relay publishes."""
    from nexus_image.adapters.kafka import KafkaEventPublisher

    publisher = KafkaEventPublisher(*_kafka(settings))
    closers.append(publisher.close)
    return publisher


def served_models(catalog: ModelCatalog | None) -> list[str]:
    """The models a worker serves: those its catalog offers when it starts."""
    return [model.name for model in catalog.offered()] if catalog is not None else []


def kafka_queue(settings: Settings, closers: Closers, catalog: ModelCatalog | None) -> JobQueue:
    """Where workers take jobs: the requests topic of each model served, and the plain one (the
    consumer joins its group on its first receive)."""
    from nexus_image.adapters.kafka import KafkaJobQueue

    config, topics = _kafka(settings)
    routes = {"": topics.requests, **{m: topics.requests_for(m) for m in served_models(catalog)}}
    jobs = KafkaJobQueue(config, routes)
    closers.append(jobs.close)
    return jobs


def kafka_live_publisher(settings: Settings, closers: Closers) -> EventPublisher:
    """Progress straight to the progress topic (advisory: never through the outbox)."""
    from nexus_image.adapters.kafka import KafkaLivePublisher

    live = KafkaLivePublisher(*_kafka(settings))
    closers.append(live.close)
    return live


def kafka_event_feed(settings: Settings, sink: EventPublisher) -> KafkaEventFeed:
    """This replica's own reader of every job event (a group of its own, never committing)."""
    import uuid

    from nexus_image.adapters.kafka import KafkaEventFeed

    group = f"{settings.kafka_topic_prefix}nexus-image-live-{default_worker_id('api')}-{uuid.uuid4().hex[:8]}"
    return KafkaEventFeed(*_kafka(settings), sink, group)


def prepare_topics(settings: Settings, models: list[str] | None = None) -> None:
    """Create missing topics (those of the `models` served too) before a worker starts; the
    consumer waits for a broker on its own."""
    if not settings.kafka_bootstrap_servers:
        return
    from nexus_image.adapters.kafka import ensure_topics

    config, topics = _kafka(settings)
    try:
        ensure_topics(config, topics.all(models or ()), settings.kafka_partitions, timeout=5.0)
    except QueueUnavailable as error:
        log.warning("topics not checked: %s", error)


# --- generation --------------------------------------------------------------------------------


def model_store(settings: Settings) -> ModelStore:
    from nexus_image.adapters.models.store import ModelStore

    return ModelStore(settings.model_cache_dir)


def model_pull(settings: Settings, token: str | None = None) -> Callable[..., Any]:
    """`models pull`: `pull(repo_id, revision, variant, name, replace=, progress=)` into the model
    store, from HF_ENDPOINT (default: the Hugging Face hub) with `token` (default: HF_TOKEN)."""
    from functools import partial

    from nexus_image.adapters.models.hub import HubClient
    from nexus_image.adapters.models.install import pull

    return partial(pull, model_store(settings), hub=HubClient(token=token))


def starter_model_size(settings: Settings, timeout: float) -> tuple[str, int]:
    """Where the hub is, and what the starter model's files weigh there (bytes); raises
    ModelError where the hub does not answer within `timeout` or has no such model."""
    from nexus_image.adapters.models.hub import HubClient
    from nexus_image.adapters.models.selection import select_files

    hub = HubClient(timeout=timeout)
    info = hub.model_info(settings.starter_model)
    return hub.endpoint, select_files(info.files, settings.starter_variant).total_size


def model_catalog(role: str, settings: Settings, store: ModelStore) -> ModelCatalog | None:
    """The models offered (an API) or served (a worker): the operator's names where given, else
    what the store holds (the model configured by location first). The in-memory library role
    names no model (its jobs take whatever generator it is given)."""
    from nexus_image.adapters.diffusers.tiny import TINY_NAME
    from nexus_image.adapters.models.catalog import ConfiguredModel, ModelOffer

    if role == "memory":
        return None
    configured = ConfiguredModel.of(settings.model)
    return ModelOffer(store, settings.model_names, settings.default_model, configured, TINY_NAME)


def diffusers_generator(
    settings: Settings, store: ModelStore, catalog: ModelCatalog | None, upscaler: Upscaler | None = None
) -> ImageGenerator:
    from nexus_image.adapters.diffusers import GeneratorOptions
    from nexus_image.adapters.diffusers.pool import ModelPipelines, ModelSource
    from nexus_image.adapters.diffusers.tiny import TINY_NAME
    from nexus_image.adapters.models.catalog import ConfiguredModel
    from nexus_image.application.errors import GenerationError
    from nexus_image.application.ports import default_model

    configured = ConfiguredModel.of(settings.model)

    def locate(name: str) -> ModelSource:
        """Where a model this worker serves is; a model it does not serve fails its job."""
        if configured is not None and name == configured.name:
            return ModelSource(configured.location, settings.model_config_dir)
        if settings.model_names and name not in settings.model_names:
            raise GenerationError(f"model {name!r} is not served here (NEXUS_IMAGE_MODELS)")
        installed = store.get(name)
        if installed is not None:
            return ModelSource(str(installed.path))
        if name == TINY_NAME:
            return ModelSource(None)
        raise GenerationError(f"model {name!r} is not installed here (nexus-image models list)")

    def default() -> str:
        chosen = default_model(catalog.offered()) if catalog is not None else None
        return chosen.name if chosen is not None else TINY_NAME

    options = GeneratorOptions(
        cache_dir=settings.model_cache_dir,
        device=settings.device,
        dtype=settings.dtype,
        threads=settings.threads,
        low_memory=settings.low_memory,
        channels_last=settings.channels_last,
        fuse_qkv=settings.fuse_qkv,
        compile=settings.compile,
        compile_mode=settings.compile_mode,
        warm_up=tuple(r.strip() for r in settings.warm_up_resolutions.split(",") if r.strip()),
        lora_dir=settings.lora_dir,
        upscaler=upscaler,  # the hires fix's upscaler models
    )
    return ModelPipelines(options, locate, default, int(settings.model_memory_gb * 2**30))


def prompt_token_counter() -> PromptTokenCounter:
    """Tokens per chunk as Stable Diffusion 1.x's CLIP tokenizer reads a prompt: the tokenizer is
    built from the merges in the package on first use (no model, no torch), once per process."""
    from nexus_image.adapters.diffusers.prompt_weights import clip_token_chunks

    return clip_token_chunks


def batch_publishing(publisher: EventPublisher) -> BatchEventPublisher | None:
    """The relay's publisher as a batch publisher where the adapter offers it."""
    return publisher if isinstance(publisher, BatchEventPublisher) else None


def batch_capability(generator: ImageGenerator | None) -> BatchImageGenerator | None:
    """The generator as a batch generator where the adapter offers it, decided once here."""
    return generator if isinstance(generator, BatchImageGenerator) else None


def loading_capability(generator: ImageGenerator | None) -> Callable[[], None] | None:
    return generator.load if isinstance(generator, ModelLoader) else None


def warm_up(
    generator: ImageGenerator | None, metrics: Any, catalog: ModelCatalog | None
) -> Callable[[], None] | None:
    """What a generating process loads ahead of its first job; where it keeps several models
    and its metrics are Prometheus', `image_model_loaded{model}` says which are in memory."""
    watch = getattr(metrics, "watch_models", None)
    if catalog is not None and watch is not None and hasattr(type(generator), "loaded"):
        watch(lambda: served_models(catalog), lambda: list(getattr(generator, "loaded", ())))
    return loading_capability(generator)


def moderator(settings: Settings) -> LayeredModerator:
    """The rules layer always; the semantic layer where the `moderation` extra is installed
    (or when asked for, which then fails loudly without it)."""
    from nexus_image.adapters.moderation import LayeredModerator, RuleBasedModerator, embeddings

    relaxed = settings.relaxed_categories
    if settings.moderation_rules is not None:
        rules = RuleBasedModerator.from_file(settings.moderation_rules, relaxed=relaxed)
    else:
        rules = RuleBasedModerator(relaxed=relaxed)
    semantic = settings.moderation_semantic
    if semantic is False or (semantic is None and not embeddings.available()):
        return LayeredModerator(rules)
    from nexus_image.adapters.moderation.semantic import SemanticModerator

    return LayeredModerator(
        rules, SemanticModerator(threshold=settings.moderation_semantic_threshold, relaxed=relaxed)
    )


def wildcard_library(settings: Settings) -> WildcardSource:
    """The `__name__` wildcards of dynamic prompts: the .txt files under `wildcard_dir` (none
    when unset). One per process: it keeps each file's lines until the file changes."""
    from nexus_image.adapters.filesystem.wildcards import WildcardFolder

    return WildcardFolder(settings.wildcard_dir)


def image_checker(settings: Settings, role: str) -> ImageSafetyChecker | None:
    """NudeNet where the `safety` extra is installed ("auto"; the in-memory library role checks
    only when asked), or nothing: then images are recorded as not checked."""
    choice = settings.image_safety
    if choice == "none" or (choice == "auto" and role == "memory"):
        return None
    from nexus_image.adapters.safety import NudeNetChecker, nudenet_available

    if choice == "auto" and not nudenet_available():
        return None
    return NudeNetChecker(threshold=settings.image_safety_threshold, threads=settings.threads or 1)


def upscaler_catalog(settings: Settings) -> UpscalerCatalog:
    """The upscalers offered: Lanczos, and the ESRGAN files of NEXUS_IMAGE_UPSCALER_DIR (reading
    the list needs no torch, so the API role can answer with it)."""
    from nexus_image.adapters.upscaling import UpscalerFolder

    return UpscalerFolder(settings.upscaler_dir)


def upscaler_names(catalog: UpscalerCatalog) -> Callable[[], tuple[str, ...]]:
    """The names of the upscaler models offered (read each time: a file added is offered at once)."""
    return lambda: tuple(u.name for u in catalog.available() if u.kind != "lanczos")


def upscaler(settings: Settings) -> Upscaler:
    """Upscales with those upscalers, on the generator's device (torch loads on the first model
    run); it is their catalog as well."""
    from nexus_image.adapters.upscaling import FolderUpscaler, UpscalerFolder

    return FolderUpscaler(UpscalerFolder(settings.upscaler_dir), device=settings.device)


# --- limits and metrics ------------------------------------------------------------------------


def rate_limit(settings: Settings) -> RateLimit:
    return RateLimit(settings.rate_limit_per_minute, RATE_WINDOW_SECONDS)


def prometheus_metrics(
    checkers: tuple[str, ...], generates: bool, tiers: tuple[str, ...] = ()
) -> PrometheusMetrics:
    """Business series with their own registry, every known label value at 0 from the start
    (the moderators' refusal categories and the image checkers' names too), the process and
    Python runtime series, and, in a process that generates, the GPUs' figures from NVML."""
    from nexus_image.adapters.moderation import REFUSAL_CATEGORIES, REFUSAL_LAYERS
    from nexus_image.adapters.prometheus import PrometheusMetrics, nvml_collector

    metrics = PrometheusMetrics(
        checkers=checkers,
        refusal_categories=REFUSAL_CATEGORIES,
        refusal_layers=REFUSAL_LAYERS,
        tiers=tiers,
    )
    gpus = nvml_collector() if generates else None
    if gpus is not None:
        metrics.registry.register(gpus)
    return metrics


def checker_names(checker: Any) -> tuple[str, ...]:
    return (str(checker.name),) if checker is not None else ()


def queue_gauges(metrics: Any, uow_factory: UnitOfWorkFactory) -> QueueGauges | None:
    """The loop feeding the queue gauges: one count query every QUEUE_REFRESH_SECONDS, however
    often /metrics is scraped (None where the metrics are not Prometheus')."""
    from nexus_image.adapters.prometheus import PrometheusMetrics, QueueGauges
    from nexus_image.adapters.prometheus.metrics import MODEL_WAITING_PREFIX, NO_MODEL, WAITING_PREFIX
    from nexus_image.domain.job import JobStatus

    if not isinstance(metrics, PrometheusMetrics):
        return None

    def counts() -> dict[str, int]:
        with uow_factory() as uow:
            counts = uow.jobs.count_by_status((JobStatus.QUEUED, JobStatus.PROCESSING))
            for tier, users in uow.queue.waiting().items():
                counts[WAITING_PREFIX + tier] = sum(user.waiting for user in users)
            for model, waiting in uow.queue.waiting_by_model().items():
                counts[MODEL_WAITING_PREFIX + (model or NO_MODEL)] = waiting
            return counts

    return QueueGauges(metrics, counts, QUEUE_REFRESH_SECONDS)


def metrics_server(metrics: Any, gauges: Any, closers: Closers, settings: Settings) -> Callable[[int], int]:
    """Serves the metrics' registry on a port of its own (workers have no HTTP API), with
    `/health` for liveness probes; the queue gauges are refreshed while it serves. Returns the
    port it listens on (port 0 picks a free one)."""

    def serve(port: int) -> int:
        from nexus_image.adapters.prometheus import start_metrics_server

        server = start_metrics_server(metrics.registry, port, settings.worker_metrics_host)
        closers.append(server.server_close)
        closers.append(server.shutdown)
        if gauges is not None:
            gauges.start()
            closers.append(gauges.stop)
        host, bound = settings.worker_metrics_host, server.server_port
        log.info("metrics on %s:%d/metrics, liveness on %s:%d/health", host, bound, host, bound)
        return int(server.server_port)

    return serve


# --- readiness ---------------------------------------------------------------------------------


def health_checks(
    uow_factory: UnitOfWorkFactory, storage: ObjectStorage, settings: Settings
) -> dict[str, HealthCheck]:
    def database() -> str:
        with uow_factory() as uow:
            uow.jobs.get(PROBE_KEY)
        return "ok"

    def store() -> str:
        try:
            storage.get(PROBE_KEY)
        except NotFound:
            pass  # the store answered
        return "ok"

    def broker() -> str:
        # No Kafka client offers a cheap reachability check: the outbox keeps events meanwhile.
        return "unchecked" if settings.kafka_bootstrap_servers else "ok"

    return {"database": database, "storage": store, "broker": broker}


def webhook_sender(settings: Settings) -> Any:
    """Webhooks go out over HTTP, to the destinations the operator's policy allows."""
    from nexus_image.adapters.httpclient.webhooks import HttpWebhookSender

    return HttpWebhookSender(
        settings.webhook_destinations,
        connect_timeout=settings.webhook_connect_timeout_seconds,
        read_timeout=settings.webhook_read_timeout_seconds,
    )


def webhook_loop(settings: Settings, route: Any, deliver: Any, bell: Any) -> Any:
    """Webhooks are sent beside the outbox relay, unless NEXUS_IMAGE_WEBHOOKS=false."""
    from nexus_image.entrypoints.worker.loops import WebhookLoop

    return WebhookLoop(route, deliver, bell=bell) if settings.webhooks else None
