"""`compose(role, settings)`: the application of one role, built by the one container.

Roles: `embedded` (the API with the worker loops in-process), `api` (the API alone), `worker`
(a standalone generation worker), `cli` (one-off commands: `generate`, the admin commands),
`memory` (the library's in-memory service: fakes for every port, no files, no servers)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from dependency_injector import providers

from nexus_image.application.audit import RecordAudit
from nexus_image.application.dispatch import ManageQueue
from nexus_image.application.erasure import EraseUser
from nexus_image.application.images import ImageQueries
from nexus_image.application.maintenance import CleanupFailedJobs
from nexus_image.application.orphans import SweepOrphans
from nexus_image.application.ports import ImageGenerator, JobQueue, LiveEventFeed, RateLimiter
from nexus_image.application.request_generation import RequestGeneration
from nexus_image.application.retention import ApplyRetention
from nexus_image.application.search import SearchImages
from nexus_image.application.service import ImageService
from nexus_image.application.service_keys import ManageServiceKeys
from nexus_image.application.tokens import ManageTokens
from nexus_image.entrypoints.composition import builders
from nexus_image.entrypoints.composition.container import Container
from nexus_image.entrypoints.settings import Settings
from nexus_image.entrypoints.worker.loops import DispatcherLoop, RelayLoop, WebhookLoop
from nexus_image.entrypoints.worker.runtime import WorkerRuntime


class DispatcherLoops:
    """The dispatcher in this thread, and the relay and webhooks beside it, until `stop()`."""

    def __init__(
        self, dispatcher: DispatcherLoop, relay: RelayLoop, webhooks: WebhookLoop | None = None
    ) -> None:
        self.dispatcher = dispatcher
        self.relay = relay
        self.webhooks = webhooks
        relay.stop_event = dispatcher.stop_event
        if webhooks is not None:
            webhooks.stop_event = dispatcher.stop_event

    def run(self) -> None:
        beside = [("outbox-relay", self.relay.run)]
        if self.webhooks is not None:
            beside.append(("webhooks", self.webhooks.run))
        threads = [threading.Thread(target=run, name=name, daemon=True) for name, run in beside]
        for thread in threads:
            thread.start()
        try:
            self.dispatcher.run()
        finally:
            self.stop()
            for thread in threads:
                thread.join(10)

    def stop(self) -> None:
        self.dispatcher.stop_event.set()
        if self.relay.bell is not None:
            self.relay.bell.ring()


class Application:
    """A built role: what its entry point runs. Everything is built when first asked for, so a
    command that needs only the database opens nothing else; `close()` releases what was."""

    def __init__(self, container: Container) -> None:
        self.container = container

    @property
    def settings(self) -> Settings:
        settings: Settings = self.container.settings()
        return settings

    @property
    def role(self) -> str:
        return str(self.container.role())

    @property
    def service(self) -> ImageService:
        service: ImageService = self.container.service()
        return service

    # The use cases the CLI takes (the HTTP layer gets its own through `api_parts`).
    @property
    def request_generation(self) -> RequestGeneration:
        use_case: RequestGeneration = self.container.request_generation()
        return use_case

    @property
    def image_queries(self) -> ImageQueries:
        use_case: ImageQueries = self.container.image_queries()
        return use_case

    @property
    def search_images(self) -> SearchImages:
        use_case: SearchImages = self.container.search_images()
        return use_case

    @property
    def manage_tokens(self) -> ManageTokens:
        use_case: ManageTokens = self.container.manage_tokens()
        return use_case

    @property
    def cleanup_failed(self) -> CleanupFailedJobs:
        use_case: CleanupFailedJobs = self.container.cleanup_failed()
        return use_case

    @property
    def apply_retention(self) -> ApplyRetention:
        use_case: ApplyRetention = self.container.apply_retention()
        return use_case

    @property
    def sweep_orphans(self) -> SweepOrphans:
        use_case: SweepOrphans = self.container.sweep_orphans()
        return use_case

    @property
    def record_audit(self) -> RecordAudit:
        use_case: RecordAudit = self.container.record_audit()
        return use_case

    @property
    def manage_service_keys(self) -> ManageServiceKeys:
        use_case: ManageServiceKeys = self.container.manage_service_keys()
        return use_case

    @property
    def manage_queue(self) -> ManageQueue:
        use_case: ManageQueue = self.container.manage_queue()
        return use_case

    @property
    def erase_user(self) -> EraseUser:
        """Erase any user's data (`execute(user_id, actor)`): the operators' use case."""
        use_case: EraseUser = self.container.erase_user()
        return use_case

    def dispatcher_loops(self) -> DispatcherLoops:
        """The standalone dispatcher's loops: the dispatcher candidate and an outbox relay (the
        dispatch messages go out from here even where workers do not relay)."""
        runtime = self.container.runtime()
        return DispatcherLoops(self.container.dispatcher_loop(), runtime.relay_loop, runtime.webhooks)

    @property
    def queue(self) -> JobQueue:
        queue: JobQueue = self.container.job_queue()
        return queue

    @property
    def generator(self) -> ImageGenerator | None:
        generator: ImageGenerator | None = self.container.generator()
        return generator

    @property
    def runtime(self) -> WorkerRuntime:
        runtime: WorkerRuntime = self.container.runtime()
        return runtime

    @property
    def live_feed(self) -> LiveEventFeed:
        feed: LiveEventFeed = self.container.live_feed()
        return feed

    @property
    def rate_limiter(self) -> RateLimiter:
        limiter: RateLimiter = self.container.rate_limiter()
        return limiter

    @property
    def metrics(self) -> Any:
        return self.container.metrics()

    def serve_metrics(self, port: int) -> int:
        """Serve /metrics and /health on `port` (0: a free one); returns the port."""
        bound: int = self.container.serve_metrics()(port)
        return bound

    def prepare_broker(self) -> None:
        builders.prepare_topics(self.settings, builders.served_models(self.container.model_catalog()))

    def run_queued(self) -> int:
        """Dispatch what is queued (in the policy's order), relay the outbox and run everything
        on the in-process queue now (the CLI, tests)."""
        queue, process = self.queue, self.container.process_jobs()
        dispatch, relay = self.container.dispatch_jobs(), self.container.relay_outbox()
        ran = 0
        while True:
            dispatch.execute(room=8)
            relay.drain()
            deliveries = queue.receive(max_items=8, timeout=0)
            if not deliveries:
                return ran
            for delivery in deliveries:
                process.execute(delivery.job_id)
                queue.acknowledge(delivery)
                ran += 1

    def close(self) -> None:
        """Close what the adapters opened (engines, producers, servers), last opened first."""
        closers: list[Callable[[], None]] = self.container.closers()
        while closers:
            closers.pop()()


def compose(role: str, settings: Settings | None = None, **overrides: Any) -> Application:
    """The application of `role`. Any provider of the container can be replaced by name with a
    ready object: `compose("memory", clock=ManualClock(), generator=my_generator)`."""
    container = Container(settings=settings if settings is not None else Settings(), role=role)
    container.plan()  # an unknown role fails here, before anything is built
    for name, value in overrides.items():
        provider = getattr(container, name, None)
        if not isinstance(provider, providers.Provider) or name in ("settings", "role"):
            raise TypeError(f"compose() has no provider named {name!r}")
        provider.override(providers.Object(value))
    return Application(container)


def api_parts(app: Application) -> Any:
    """What the HTTP layer gets from a built `embedded` or `api` application."""
    from nexus_image.entrypoints.http.app import ApiParts, HttpUseCases

    runtime = app.runtime if app.role == "embedded" else None
    feed = app.container.event_feed()
    gauges = app.container.queue_gauges()
    background = tuple(part for part in (feed, runtime, gauges) if part is not None)
    c = app.container
    use_cases = HttpUseCases(
        request_generation=c.request_generation(),
        cancel_generation=c.cancel_generation(),
        queries=c.image_queries(),
        search=c.search_images(),
        manage=c.manage_images(),
        albums=c.manage_albums(),
        tokens=c.manage_tokens(),
        audit=c.record_audit(),
        moderation=c.moderate_prompts(),
        uploads=c.manage_uploads(),
        read_parameters=c.read_parameters(),
        lora_catalog=c.lora_catalog(),
        model_catalog=c.model_catalog(),
        service_keys=c.manage_service_keys(),
        webhooks=c.manage_webhooks(),
        prompt_tokens=c.count_prompt_tokens(),
        presets=c.manage_presets(),
        upscale=c.upscale_image(),
        upscaler_catalog=c.upscaler_catalog(),
        fast_modes=c.settings().fast_mode_table,
        accounts=c.view_account(),
        operators=c.operate_users(),
        queue=c.manage_queue(),
        export_account=c.export_account(),
        erase_user=c.erase_user(),
    )
    return ApiParts(
        use_cases=use_cases,
        live_feed=app.live_feed,
        rate_limiter=app.rate_limiter,
        registry=app.metrics.registry,
        readiness=app.container.health_checks(),
        close=app.close,
        background=background,
        model_state=(lambda: runtime.model_state) if runtime is not None else None,
        model_watch=model_watch(c, runtime is not None),
    )


def model_watch(container: Any, embedded: bool) -> Any:
    """The pipelines the embedded worker holds, and the download this data folder shows."""
    from nexus_image.entrypoints.http.models import ModelWatch

    generator = container.generator() if embedded else None
    store = container.model_store()

    def loaded() -> list[str]:
        return list(getattr(generator, "loaded", ()))

    def download() -> dict[str, Any] | None:
        status = store.download_status()
        return status.to_json() if status is not None else None

    pool = hasattr(type(generator), "loaded")  # the diffusers pool; the test generator holds none
    return ModelWatch(loaded=loaded if pool else None, download=download)


def http_role(settings: Settings) -> str:
    return "embedded" if settings.embedded_worker else "api"


def http_app(app: Application) -> Any:
    """The Litestar app serving `app` (role `embedded` or `api`)."""
    from nexus_image.entrypoints.http import create_app

    if app.role not in ("embedded", "api"):
        raise ValueError(f"the HTTP API serves the embedded or api role, not {app.role!r}")
    try:
        return create_app(app.settings, api_parts(app))
    except Exception:
        app.close()
        raise


def in_memory_service(welcome_grant: int = 100, generator: ImageGenerator | None = None) -> ImageService:
    """An ImageService on fakes of every port (nexus_image.testing). Without `generator`, images
    are fast deterministic patterns (no model, no torch)."""
    settings = Settings.model_construct(welcome_tokens=welcome_grant)
    overrides: dict[str, Any] = {} if generator is None else {"generator": generator}
    return compose("memory", settings, **overrides).service
