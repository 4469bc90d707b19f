"""Liveness, readiness and Prometheus metrics: public, for orchestrators and scrapers."""

from __future__ import annotations

import anyio.to_thread
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from nexus_image.application.ports import HealthChecks
from nexus_image.entrypoints.http.auth import PUBLIC
from nexus_image.entrypoints.http.errors import UNAVAILABLE_RETRY_SECONDS
from nexus_image.entrypoints.http.schemas import HealthResponse, ReadinessResponse

HEALTHY = ("ok", "ready", "unchecked")


def readiness(checks: HealthChecks) -> tuple[bool, dict[str, str]]:
    """Runs every named check; one that raises is reported with the error's type."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            results[name] = check()
        except Exception as error:
            results[name] = f"failed: {type(error).__name__}"
    return all(v in HEALTHY for v in results.values()), results


def _models(state: State) -> dict[str, bool] | None:
    watch = state.model_watch
    if watch.loaded is None:
        return None
    loaded = set(watch.loaded())
    catalog = state.parts.use_cases.model_catalog
    offered = [m.name for m in catalog.offered()] if catalog is not None else []
    return {name: name in loaded for name in offered}


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
        responses={
            503: ResponseSpec(data_container=ReadinessResponse, description="Not ready: see `checks`")
        },
    )
    async def ready(self, state: State) -> Response[ReadinessResponse]:
        """200 when every dependency answers; 503, with what failed and a Retry-After, otherwise.
        Where this server generates (embedded), `models` says which offered models are loaded."""
        ok, checks = await anyio.to_thread.run_sync(readiness, state.parts.readiness)
        models = await anyio.to_thread.run_sync(_models, state)
        body = ReadinessResponse(status="ready" if ok else "not_ready", checks=checks, models=models)
        if ok:
            return Response(body)
        return Response(body, status_code=503, headers={"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)})

    @get(["/metrics", "/api/v1/metrics"], summary="Prometheus metrics", media_type=CONTENT_TYPE_LATEST)
    async def metrics(self, state: State) -> Response[bytes]:
        """The six business series of the design (requests, durations, queue size, failures,
        tokens consumed, upload durations), HTTP latency, and the process's own."""
        text = await anyio.to_thread.run_sync(generate_latest, state.parts.registry)
        return Response(text, media_type=CONTENT_TYPE_LATEST)
