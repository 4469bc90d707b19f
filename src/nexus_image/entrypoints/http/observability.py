"""Per-request context: a request id (X-Request-ID, taken from the client when sane, echoed
back), bound to every log line of the request together with the user id; one access log line;
the latency histogram, labelled by route template rather than raw path (bounded series), and
a count of responses by status class that starts at 0 for every class (error-rate alerts see
the first 5xx after a start)."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import anyio
import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Histogram

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

log = structlog.get_logger("nexus_image.http")


STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


@dataclass(frozen=True, slots=True)
class HttpMetrics:
    latency: Histogram
    responses: Counter

    def observe(self, method: str, route: str, status: int, seconds: float, long_lived: bool) -> None:
        """Every response is counted by class; long-lived streams stay out of the latency."""
        self.responses.labels(status_class=f"{min(max(status // 100, 1), 5)}xx").inc()
        if not long_lived:
            self.latency.labels(method=method, route=route, status=str(status)).observe(seconds)


def http_metrics(registry: CollectorRegistry) -> HttpMetrics:
    latency = Histogram(
        "http_request_duration_seconds",
        "HTTP request latency, from routing to the last byte of the response",
        ["method", "route", "status"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    responses = Counter(
        "http_responses", "HTTP responses by status class", ["status_class"], registry=registry
    )
    for status_class in STATUS_CLASSES:
        responses.labels(status_class=status_class)
    return HttpMetrics(latency, responses)


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


JSON_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))


def with_json_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """JSON answers are personal and never cached (`no-store`), and never sniffed as another
    type; a response that set its own cache policy (image downloads) keeps it."""
    names = {name.lower() for name, _ in headers}
    content_type = next((value for name, value in headers if name.lower() == b"content-type"), b"")
    if b"json" not in content_type.lower():
        return headers
    return [*headers, *((name, value) for name, value in JSON_HEADERS if name not in names)]


PROBES = frozenset({"/health", "/api/v1/health", "/ready", "/api/v1/ready", "/metrics", "/api/v1/metrics"})
"""Routes that load balancers, orchestrators and Prometheus call every few seconds."""


CLIENT_GONE = "client_gone"  # in the scope's state: the client disconnected before its answer
BODY_TIMED_OUT = "body_timed_out"  # in the scope's state: its body stopped coming


def client_gone(scope: Scope) -> bool:
    """Whether the client of this request disconnected before it was answered."""
    return bool(scope.get("state", {}).get(CLIENT_GONE))


def body_timed_out(scope: Scope) -> bool:
    """Whether this request's body stopped coming for longer than the body timeout."""
    return bool(scope.get("state", {}).get(BODY_TIMED_OUT))


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return True
    return False


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics, body_timeout: float = 30.0) -> None:
        self.app = app
        self.metrics = metrics
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": with_json_headers(headers)}
            await send(message)

        reading = _has_body(scope)

        async def receive_noting() -> ReceiveMessage:
            """Each part of the body within `body_timeout` (a client that stops sending holds a
            connection and a request thread no longer); a disconnect noted."""
            nonlocal reading
            if reading:
                message: ReceiveMessage | None = None
                with anyio.move_on_after(self.body_timeout):
                    message = await receive()
                if message is None:
                    scope.setdefault("state", {})[BODY_TIMED_OUT] = True
                    reading = False
                    return {"type": "http.disconnect"}
                if message["type"] != "http.request" or not message.get("more_body", False):
                    reading = False
            else:
                message = await receive()
            if message["type"] == "http.disconnect":  # the client left before it was answered
                scope.setdefault("state", {})[CLIENT_GONE] = True
            return message

        try:
            await self.app(scope, receive_noting, send_with_id)
        finally:
            self._finish(scope, status, time.perf_counter() - started)
            structlog.contextvars.clear_contextvars()

    def _finish(self, scope: Scope, status: int, seconds: float) -> None:
        handler: Any = scope.get("route_handler")
        long_lived = bool(handler is not None and handler.opt.get("long_lived"))
        route = str(scope.get("path_template") or "unmatched")
        method = str(scope.get("method", ""))
        self.metrics.observe(method, route, status, seconds, long_lived)
        if status < 400 and route in PROBES:
            return  # probes answered well are counted, not logged: they would drown the log
        log.info(
            "request",
            method=method,
            path=scope.get("path", ""),
            route=route,
            status=status,
            duration_ms=round(seconds * 1000, 2),
        )
