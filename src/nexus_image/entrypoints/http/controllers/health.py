"""Liveness, readiness and Prometheus metrics: public, for orchestrators and scrapers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from nexus_image.application.errors import NotFound
from nexus_image.entrypoints.container import Container
from nexus_image.entrypoints.embedded import EmbeddedWorker
from nexus_image.entrypoints.http.auth import PUBLIC
from nexus_image.entrypoints.http.schemas import HealthResponse

PROBE_KEY = "readiness-probe/none"


def _database(container: Container) -> str:
    with container.uow_factory()() as uow:
        uow.jobs.get(PROBE_KEY)
    return "ok"


def _storage(container: Container) -> str:
    try:
        container.storage().get(PROBE_KEY)
    except NotFound:
        pass  # the store answered
    return "ok"


def _broker(container: Container) -> str:
    """The queue or broker the outbox relay publishes to; an adapter that can tell whether its
    broker is reachable offers `check_health()`."""
    publisher = container.publisher()
    primary = getattr(publisher, "primary", publisher)  # through the tee that feeds live events
    check: Callable[[], Any] | None = getattr(primary, "check_health", None)
    if check is None:
        return "ok" if not container.settings().kafka_bootstrap_servers else "unchecked"
    check()
    return "ok"


def readiness(container: Container, worker: EmbeddedWorker | None) -> tuple[bool, dict[str, str]]:
    checks: dict[str, str] = {}
    probes: dict[str, Callable[[Container], str]] = {
        "database": _database,
        "storage": _storage,
        "broker": _broker,
    }
    for name, probe in probes.items():
        try:
            checks[name] = probe(container)
        except Exception as error:
            checks[name] = f"failed: {type(error).__name__}"
    if worker is not None:
        checks["model"] = worker.model_state
    ready = all(v in ("ok", "ready", "unchecked") for v in checks.values())
    return ready, checks


class HealthController(Controller):
    path = "/"
    tags = ["operations"]
    opt = {PUBLIC: True}

    @get(["/health", "/api/v1/health"], summary="Liveness")
    async def health(self) -> HealthResponse:
        """The process answers. Restart it if this fails."""
        return HealthResponse(status="ok")

    @get(
        ["/ready", "/api/v1/ready"],
        summary="Readiness: database, storage, broker and model",
        responses={503: ResponseSpec(data_container=HealthResponse, description="Not ready: see `checks`")},
    )
    async def ready(self, state: State) -> Response[HealthResponse]:
        """200 when every dependency answers; 503, with what failed, otherwise."""
        ok, checks = await anyio.to_thread.run_sync(readiness, state.container, state.embedded_worker)
        body = HealthResponse(status="ready" if ok else "not_ready", checks=checks)
        return Response(body, status_code=200 if ok else 503)

    @get(["/metrics", "/api/v1/metrics"], summary="Prometheus metrics", media_type=CONTENT_TYPE_LATEST)
    async def metrics(self, state: State) -> Response[bytes]:
        """The six business series of the design (requests, durations, queue size, failures,
        tokens consumed, upload durations), HTTP latency, and the process's own."""
        registry = state.container.metrics().registry
        text = await anyio.to_thread.run_sync(generate_latest, registry)
        return Response(text, media_type=CONTENT_TYPE_LATEST)
