"""The one container: every provider of every role, each adapter chosen from the settings and
the role by a Selector, each use case built here and nowhere else.

Lifetimes: one engine, client, queue, broadcaster and model per process (singletons); the
use cases are stateless and built once too. Tests and library users replace any provider with
`compose(role, settings, name=value)` (an override of that provider)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from operator import attrgetter

from dependency_injector import containers, providers

from nexus_image.application.account_export import ExportAccountData
from nexus_image.application.accounts import ViewAccount
from nexus_image.application.albums import ManageAlbums
from nexus_image.application.audit import RecordAudit
from nexus_image.application.cancel import CancelGeneration
from nexus_image.application.dispatch import DispatchJobs, ManageQueue
from nexus_image.application.erasure import EraseUser
from nexus_image.application.images import ImageQueries, ManageImages
from nexus_image.application.limits import StoredRateLimiter
from nexus_image.application.maintenance import CleanupFailedJobs, RecoverStalledJobs
from nexus_image.application.moderation import ModeratePrompts
from nexus_image.application.operators import OperateUsers
from nexus_image.application.orphans import SweepOrphans
from nexus_image.application.ports import NullMetrics
from nexus_image.application.presets import ManagePresets
from nexus_image.application.process_job import ProcessJobs
from nexus_image.application.prompt_tokens import CountPromptTokens
from nexus_image.application.read_parameters import ReadParameters
from nexus_image.application.redeliver import RedeliverQueuedJobs
from nexus_image.application.relay import RelayOutbox
from nexus_image.application.request_generation import RequestGeneration
from nexus_image.application.retention import ApplyRetention
from nexus_image.application.search import SearchImages
from nexus_image.application.service import Dependencies, ImageService
from nexus_image.application.service_keys import ManageServiceKeys
from nexus_image.application.tokens import ManageTokens
from nexus_image.application.uploads import ManageUploads
from nexus_image.application.upscale import UpscaleImage
from nexus_image.application.webhook_endpoints import ManageWebhooks
from nexus_image.application.webhooks import DeliverWebhooks, RouteWebhookEvents
from nexus_image.domain.job import RefundPolicy
from nexus_image.domain.upload import UploadAllowance
from nexus_image.domain.webhooks import RetrySchedule
from nexus_image.entrypoints.composition import builders as b
from nexus_image.entrypoints.composition.erasure_key import erasure_key as make_erasure_key
from nexus_image.entrypoints.settings import Settings
from nexus_image.entrypoints.worker.runtime import WorkerRuntime


class Role(StrEnum):
    EMBEDDED = "embedded"  # the API with the worker loops in-process
    API = "api"  # the API alone
    WORKER = "worker"  # a standalone generation worker
    CLI = "cli"  # one-off commands
    MEMORY = "memory"  # the library's in-memory service
    DISPATCHER = "dispatcher"  # a standalone dispatcher (and outbox relay)


ROLES = tuple(role.value for role in Role)


class Database(StrEnum):
    MEMORY = "memory"
    SQL = "sql"


class Storage(StrEnum):
    MEMORY = "memory"
    FILES = "files"
    S3 = "s3"


class Messaging(StrEnum):
    MEMORY = "memory"
    KAFKA = "kafka"


class Publishing(StrEnum):
    DIRECT = "direct"  # the broker only
    TEE = "tee"  # the broker, then this process's watchers


class Live(StrEnum):
    NONE = "none"
    LOCAL = "local"  # this process's watchers
    KAFKA = "kafka"  # the progress topic


class MetricsKind(StrEnum):
    NULL = "null"
    PROMETHEUS = "prometheus"


class Feed(StrEnum):
    NONE = "none"
    KAFKA = "kafka"  # this process reads every job event from the broker


class Generation(StrEnum):
    NONE = "none"
    PATTERN = "pattern"
    DIFFUSERS = "diffusers"


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Which adapter each port gets, for one role and its settings."""

    database: Database
    storage: Storage
    messaging: Messaging
    publisher: Publishing
    live: Live
    metrics: MetricsKind
    feed: Feed
    generator: Generation
    recover_previous_run: bool  # the queue lived in the previous process


MEMORY_PLAN = Plan(
    database=Database.MEMORY,
    storage=Storage.MEMORY,
    messaging=Messaging.MEMORY,
    publisher=Publishing.DIRECT,
    live=Live.NONE,
    metrics=MetricsKind.NULL,
    feed=Feed.NONE,
    generator=Generation.PATTERN,
    recover_previous_run=False,
)


def plan_for(role: str, settings: Settings) -> Plan:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    kafka = bool(settings.kafka_bootstrap_servers)
    if role == Role.MEMORY:
        return MEMORY_PLAN
    serving = role in (Role.EMBEDDED, Role.API)
    worker_kafka = role == Role.WORKER and kafka
    live = Live.LOCAL if serving else (Live.KAFKA if worker_kafka else Live.NONE)
    return Plan(
        database=Database.SQL,
        storage=Storage.S3 if settings.s3_endpoint else Storage.FILES,
        messaging=Messaging.KAFKA if kafka else Messaging.MEMORY,
        publisher=Publishing.TEE if serving else Publishing.DIRECT,
        live=live,
        metrics=MetricsKind.NULL if role == Role.CLI else MetricsKind.PROMETHEUS,
        feed=Feed.KAFKA if serving and kafka else Feed.NONE,
        generator=Generation.NONE if role in (Role.API, Role.DISPATCHER) else Generation.DIFFUSERS,
        recover_previous_run=role == Role.EMBEDDED and not kafka,
    )


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    role = providers.Dependency(instance_of=str)
    closers: providers.Singleton[list[Callable[[], None]]] = providers.Singleton(list)
    plan = providers.Singleton(plan_for, role, settings)

    # --- the ports, one adapter each ------------------------------------------------------------
    # Commits that write outbox rows ring the bells: the relay publishes them at once, and the
    # dispatcher looks whether a worker has room (a job started or ended) or work came in.
    outbox_bell = providers.Singleton(b.Doorbell)
    dispatcher_bell = providers.Singleton(b.Doorbell)
    webhook_bell = providers.Singleton(b.Doorbell)  # new events to route to webhooks
    bells = providers.Singleton(b.Chime, outbox_bell, dispatcher_bell, webhook_bell)
    database = providers.Selector(
        providers.Callable(attrgetter("database"), plan),
        memory=providers.Singleton(b.memory_database),
        sql=providers.Singleton(b.sql_database, settings, closers),
    )
    uow_factory = providers.Singleton(b.ringing, database, bells)
    storage = providers.Selector(
        providers.Callable(attrgetter("storage"), plan),
        memory=providers.Singleton(b.InMemoryStorage),
        files=providers.Singleton(b.file_storage, settings),
        s3=providers.Singleton(b.s3_storage, settings),
    )
    model_store = providers.Singleton(b.model_store, settings)
    model_catalog = providers.Singleton(b.model_catalog, role, settings, model_store)
    in_process_queue = providers.Singleton(b.InMemoryQueue)
    job_queue = providers.Selector(
        providers.Callable(attrgetter("messaging"), plan),
        memory=in_process_queue,
        kafka=providers.Singleton(b.kafka_queue, settings, closers, model_catalog),
    )
    broker = providers.Selector(
        providers.Callable(attrgetter("messaging"), plan),
        memory=in_process_queue,
        kafka=providers.Singleton(b.kafka_publisher, settings, closers),
    )
    live_feed = providers.Singleton(b.LiveEventBroadcaster)
    # The outbox relay feeds the broker and, once the broker took an event, live watchers too.
    publisher = providers.Selector(
        providers.Callable(attrgetter("publisher"), plan),
        direct=broker,
        tee=providers.Singleton(b.TeePublisher, broker, live_feed),
    )
    # Where a generating process sends progress (advisory, never through the outbox).
    live_events = providers.Selector(
        providers.Callable(attrgetter("live"), plan),
        none=providers.Object(None),
        local=live_feed,
        kafka=providers.Singleton(b.kafka_live_publisher, settings, closers),
    )
    # An API replica's reader of every job event on the broker, feeding its watchers.
    event_feed = providers.Selector(
        providers.Callable(attrgetter("feed"), plan),
        none=providers.Object(None),
        kafka=providers.Singleton(b.kafka_event_feed, settings, live_feed),
    )
    moderator = providers.Singleton(b.moderator, settings)
    image_checker = providers.Singleton(b.image_checker, settings, role)
    clock = providers.Singleton(b.SystemClock)
    ids = providers.Singleton(b.UuidGenerator)
    seeds = providers.Singleton(b.RandomSeeds)
    metrics = providers.Selector(
        providers.Callable(attrgetter("metrics"), plan),
        null=providers.Singleton(NullMetrics),
        prometheus=providers.Singleton(
            b.prometheus_metrics,
            providers.Selector(
                providers.Callable(lambda plan: "no" if plan.generator == "none" else "yes", plan),
                no=providers.Object(()),
                yes=providers.Callable(b.checker_names, image_checker),
            ),
            providers.Callable(lambda plan: plan.generator != "none", plan),
            providers.Callable(lambda s: s.tier_policy.names, settings),
        ),
    )
    queue_gauges = providers.Selector(
        providers.Callable(attrgetter("metrics"), plan),
        null=providers.Object(None),
        prometheus=providers.Singleton(b.queue_gauges, metrics, uow_factory),
    )
    wildcard_library = providers.Singleton(b.wildcard_library, settings)
    upscaler_catalog = providers.Singleton(b.upscaler_catalog, settings)
    upscaler_names = providers.Callable(b.upscaler_names, upscaler_catalog)
    upscaler = providers.Singleton(b.upscaler, settings)
    generator = providers.Selector(
        providers.Callable(attrgetter("generator"), plan),
        none=providers.Object(None),
        pattern=providers.Singleton(b.PatternGenerator),
        diffusers=providers.Singleton(b.diffusers_generator, settings, model_store, model_catalog, upscaler),
    )
    encoder = providers.Singleton(b.PillowEncoder)
    decoder = providers.Singleton(b.PillowDecoder)
    text_reader = providers.Singleton(b.PngTextReader)
    # Hits in the database's `rate_limit_logs`, shared by every API replica; a generation request
    # takes its hit there inside its own transaction, under the same rule.
    rate_limit = providers.Singleton(b.rate_limit, settings)
    rate_limiter = providers.Singleton(StoredRateLimiter, uow_factory, rate_limit, clock)
    health_checks = providers.Singleton(b.health_checks, uow_factory, storage, settings)
    serve_metrics = providers.Singleton(b.metrics_server, metrics, queue_gauges, closers, settings)

    # --- values from the settings, applied at construction --------------------------------------
    welcome_grant = providers.Callable(attrgetter("effective_welcome_tokens"), settings)
    tier_policy = providers.Singleton(attrgetter("tier_policy"), settings)
    worker_id = providers.Singleton(b.default_worker_id, role)
    lease = providers.Callable(lambda s: timedelta(seconds=s.lease_seconds), settings)
    storage_retry_delays = providers.Object((0.2, 0.5, 1.0))

    # --- the use cases ----------------------------------------------------------------------------
    moderate_prompts = providers.Singleton(
        ModeratePrompts, moderator=moderator, uow_factory=uow_factory, clock=clock, metrics=metrics
    )
    lora_catalog = providers.Singleton(b.LoraFolder, providers.Callable(attrgetter("lora_dir"), settings))
    count_prompt_tokens = providers.Singleton(
        CountPromptTokens, counter=providers.Callable(b.prompt_token_counter)
    )
    manage_presets = providers.Singleton(ManagePresets, uow_factory=uow_factory, clock=clock, ids=ids)
    request_generation = providers.Singleton(
        RequestGeneration,
        uow_factory=uow_factory,
        moderation=moderate_prompts,
        clock=clock,
        ids=ids,
        seeds=seeds,
        metrics=metrics,
        welcome_grant=welcome_grant,
        rate_limit=rate_limit,
        pricing=providers.Callable(attrgetter("pricing"), settings),
        adapters=lora_catalog,
        models=model_catalog,
        style_models=providers.Callable(attrgetter("preferred_models"), settings),
        policy=tier_policy,
        destinations=providers.Callable(attrgetter("webhook_destinations"), settings),
        wildcards=wildcard_library,
        fast_modes=providers.Callable(attrgetter("fast_mode_table"), settings),
        upscalers=upscaler_names,
        presets=manage_presets.provided.applied,
    )
    upscale_image = providers.Singleton(UpscaleImage, requests=request_generation, upscalers=upscaler_names)
    refund_policy = providers.Callable(lambda s: RefundPolicy(s.cancel_refund), settings)
    cancel_generation = providers.Singleton(
        CancelGeneration,
        uow_factory=uow_factory,
        clock=clock,
        ids=ids,
        policy=refund_policy,
        tiers=tier_policy,
    )
    image_queries = providers.Singleton(
        ImageQueries, uow_factory=uow_factory, storage=storage, clock=clock, policy=tier_policy
    )
    search_images = providers.Singleton(
        SearchImages, uow_factory=uow_factory, storage=storage, policy=tier_policy
    )
    dispatch_jobs = providers.Singleton(
        DispatchJobs,
        uow_factory=uow_factory,
        clock=clock,
        ids=ids,
        policy=tier_policy,
        metrics=metrics,
        redispatch_after=providers.Callable(
            lambda s: timedelta(seconds=max(60, 2 * s.lease_seconds)), settings
        ),
    )
    manage_queue = providers.Singleton(ManageQueue, uow_factory=uow_factory, clock=clock, policy=tier_policy)
    manage_images = providers.Singleton(
        ManageImages,
        uow_factory=uow_factory,
        storage=storage,
        clock=clock,
        ids=ids,
        refund_policy=refund_policy,
        tiers=tier_policy,
    )
    view_account = providers.Singleton(
        ViewAccount, uow_factory=uow_factory, clock=clock, policy=tier_policy, welcome_grant=welcome_grant
    )
    operate_users = providers.Singleton(
        OperateUsers,
        uow_factory=uow_factory,
        storage=storage,
        clock=clock,
        ids=ids,
        policy=tier_policy,
        cancel_policy=refund_policy,
        welcome_grant=welcome_grant,
    )
    manage_albums = providers.Singleton(
        ManageAlbums, uow_factory=uow_factory, storage=storage, clock=clock, ids=ids, tiers=tier_policy
    )
    manage_tokens = providers.Singleton(
        ManageTokens, uow_factory=uow_factory, clock=clock, welcome_grant=welcome_grant
    )
    record_audit = providers.Singleton(RecordAudit, uow_factory=uow_factory, clock=clock)
    # Export and erasure of a user's data (GDPR); `erase_user` is the operators' too.
    export_account = providers.Singleton(
        ExportAccountData, uow_factory=uow_factory, storage=storage, clock=clock
    )
    erasure_key = providers.Singleton(make_erasure_key, settings)
    erase_user = providers.Singleton(
        EraseUser, uow_factory=uow_factory, storage=storage, clock=clock, ids=ids, key=erasure_key.provider
    )  # the key is read at the first erasure, not when the API starts
    manage_service_keys = providers.Singleton(ManageServiceKeys, uow_factory=uow_factory, clock=clock)
    route_webhooks = providers.Singleton(
        RouteWebhookEvents,
        uow_factory=uow_factory,
        clock=clock,
        ids=ids,
        public_url=providers.Callable(lambda s: s.public_url or "", settings),
    )
    deliver_webhooks = providers.Singleton(
        DeliverWebhooks,
        uow_factory=uow_factory,
        clock=clock,
        sender=providers.Singleton(b.webhook_sender, settings),
        schedule=providers.Callable(lambda s: RetrySchedule.parse(s.webhook_retry_schedule), settings),
        metrics=metrics,
    )
    manage_webhooks = providers.Singleton(
        ManageWebhooks,
        uow_factory=uow_factory,
        clock=clock,
        ids=ids,
        policy=providers.Callable(attrgetter("webhook_destinations"), settings),
        grace=providers.Callable(lambda s: timedelta(seconds=s.webhook_secret_grace_seconds), settings),
    )
    relay_outbox = providers.Singleton(
        RelayOutbox,
        uow_factory=uow_factory,
        publisher=publisher,
        clock=clock,
        batch_publisher=providers.Callable(b.batch_publishing, publisher),
    )
    cleanup_failed = providers.Singleton(
        CleanupFailedJobs, uow_factory=uow_factory, storage=storage, clock=clock
    )
    apply_retention = providers.Singleton(
        ApplyRetention,
        uow_factory=uow_factory,
        storage=storage,
        clock=clock,
        policy=providers.Callable(attrgetter("retention_policy"), settings),
    )
    sweep_orphans = providers.Singleton(SweepOrphans, uow_factory=uow_factory, storage=storage, clock=clock)
    recover_stalled = providers.Singleton(
        RecoverStalledJobs,
        uow_factory=uow_factory,
        clock=clock,
        ids=ids,
        max_attempts=providers.Callable(attrgetter("max_attempts"), settings),
    )
    redeliver_queued = providers.Singleton(RedeliverQueuedJobs, uow_factory=uow_factory, clock=clock, ids=ids)
    manage_uploads = providers.Singleton(
        ManageUploads,
        uow_factory=uow_factory,
        storage=storage,
        decoder=decoder,
        ids=ids,
        clock=clock,
        allowance=providers.Callable(
            lambda s: UploadAllowance(s.max_uploads_per_user, s.upload_quota_mb * 1024 * 1024), settings
        ),
        welcome_grant=welcome_grant,
    )
    process_jobs = providers.Selector(
        providers.Callable(lambda plan: "no" if plan.generator == "none" else "yes", plan),
        no=providers.Object(None),
        yes=providers.Singleton(
            ProcessJobs.build,
            uow_factory=uow_factory,
            generator=generator,
            encoder=encoder,
            storage=storage,
            clock=clock,
            ids=ids,
            metrics=metrics,
            live_events=live_events,
            worker_id=worker_id,
            batch_generator=providers.Callable(b.batch_capability, generator),
            lease=lease,
            safety=image_checker,
            block_unsafe=providers.Callable(attrgetter("block_unsafe_outputs"), settings),
            storage_retry_delays=storage_retry_delays,
            decoder=decoder,
            upscaler=upscaler,
            # A preview is shown before the output check: none where unsafe outputs are blocked.
            previews=providers.Callable(lambda s: s.live_previews and not s.block_unsafe_outputs, settings),
            progress_every=providers.Callable(
                lambda s: timedelta(seconds=s.progress_every_seconds), settings
            ),
            preview_every=providers.Callable(lambda s: timedelta(seconds=s.preview_every_seconds), settings),
        ),
    )
    read_parameters = providers.Singleton(ReadParameters, reader=text_reader)
    service = providers.Singleton(
        ImageService,
        deps=providers.Singleton(Dependencies, uow_factory=uow_factory, storage=storage, clock=clock),
        images=image_queries,
        manage=manage_images,
        albums=manage_albums,
        tokens=manage_tokens,
        relay=relay_outbox,
        cleanup=cleanup_failed,
        recover=recover_stalled,
        redeliver=redeliver_queued,
        audit=record_audit,
        request=request_generation,
        cancel=cancel_generation,
        moderation=moderate_prompts,
        read_parameters=read_parameters,
        uploads=manage_uploads,
        lora_catalog=lora_catalog,
        process=process_jobs,
        dispatcher=dispatch_jobs,
        queue=manage_queue,
        upscale=upscale_image,
    )

    # --- the loops of a generating role -----------------------------------------------------------
    outbox_listener = providers.Singleton(b.outbox_listener, settings, bells, closers)
    stop_event = providers.Singleton(threading.Event)
    ready = providers.Singleton(threading.Event)
    leadership = providers.Singleton(b.leadership, settings, plan, closers)
    dispatcher_loop = providers.Singleton(
        b.dispatcher_loop, role, settings, dispatch_jobs, leadership, dispatcher_bell, outbox_listener
    )
    seat_loop = providers.Singleton(
        b.seat_loop,
        role,
        settings,
        manage_queue,
        worker_id,
        providers.Callable(attrgetter("max_batch"), settings),
        job_queue,
        model_catalog,
    )
    webhook_loop = providers.Singleton(
        b.webhook_loop, settings, route_webhooks, deliver_webhooks, webhook_bell
    )
    runtime = providers.Singleton(
        WorkerRuntime,
        process=process_jobs,
        relay_outbox=relay_outbox,
        recover=recover_stalled,
        redeliver=redeliver_queued,
        queue=job_queue,
        clock=clock,
        max_batch=providers.Callable(attrgetter("max_batch"), settings),
        batch_wait_seconds=providers.Callable(attrgetter("batch_wait_seconds"), settings),
        recovery_every_seconds=providers.Callable(lambda s: b.recovery_interval(s.lease_seconds), settings),
        relay=providers.Callable(lambda r, s: r != "worker" or s.worker_relay, role, settings),
        outbox_bell=outbox_bell,
        outbox_listener=outbox_listener,
        relay_idle_seconds=providers.Callable(b.relay_idle_seconds, role, outbox_listener),
        warm_up=providers.Callable(b.warm_up, generator, metrics, model_catalog),
        exit_on_model_error=providers.Callable(lambda r: r == "worker", role),
        recover_previous_run=providers.Callable(attrgetter("recover_previous_run"), plan),
        dispatcher=dispatcher_loop,
        seat=seat_loop,
        webhooks=webhook_loop,
        stop_event=stop_event,
        ready=ready,
    )
