"""The one place where errors become HTTP responses: RFC 9457 problem+json bodies.

Domain and application errors carry what the client needs (the field and its allowed values,
the moderation category, the balance); infrastructure trouble becomes 503 with Retry-After;
anything unexpected is a 500 whose body says nothing about the internals."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException

from nexus_image.application.errors import (
    Conflict,
    DatabaseUnavailable,
    MissingUpload,
    NotFound,
    PayloadTooLarge,
    PromptRejected,
    QueueUnavailable,
    StorageUnavailable,
    UserQueueFull,
)
from nexus_image.domain.errors import (
    AccessDenied,
    AccountSuspended,
    DomainError,
    IllegalTransition,
    ImageDataRemoved,
    ImageNotInAlbum,
    InsufficientTokens,
    InvalidValue,
    UnknownFastMode,
    UnknownLora,
    UnknownModel,
    UnknownUpscaler,
    UnknownWildcard,
    UnsafeImage,
)
from nexus_image.domain.preset import PresetLimitReached
from nexus_image.domain.quota import Quota, QuotaExceeded
from nexus_image.domain.search import InvalidCursor
from nexus_image.domain.upload import UploadQuotaExceeded
from nexus_image.entrypoints.http.observability import body_timed_out, client_gone, request_id_of
from nexus_image.entrypoints.http.schemas import ENUM_FIELDS, Problem

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:nexus-image:problem:"
UNAVAILABLE_RETRY_SECONDS = 5

log = structlog.get_logger(__name__)


class RateLimited(Exception):
    """The caller sent more requests of this kind than the configured rate allows."""

    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests; retry in {retry_after} s")
        self.retry_after = retry_after


class InsufficientScope(Exception):
    """The credential is valid but does not hold the scope this request needs (RFC 6750)."""

    code = "insufficient_scope"

    def __init__(self, scope: str) -> None:
        super().__init__(f"this request needs the scope {scope!r}, which the credential does not hold")
        self.scope = scope


HTTP_CODES: dict[int, str] = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}

HIDDEN_PREFIX = "/api/v1/admin/"
LOCAL_SIGN_IN = "/studio/local-token"  # the operators' routes: missing for anyone else

DOMAIN_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (UnknownLora, 400),  # a name outside the operator's list: answered with the list
    (UnknownModel, 400),
    (UnknownUpscaler, 400),
    (UnknownFastMode, 400),
    (UnknownWildcard, 400),
    (InvalidCursor, 400),  # not a value to correct: a cursor is used as it was given
    (InvalidValue, 422),
    (PayloadTooLarge, 413),
    (UploadQuotaExceeded, 409),
    (AccountSuspended, 403),
    (QuotaExceeded, 429),  # 403 for the bytes kept: waiting does not help (see _business)
    (PresetLimitReached, 409),
    (InsufficientTokens, 402),
    (NotFound, 404),  # before AccessDenied: NotVisible is both, and answers like a missing thing
    (AccessDenied, 403),
    (IllegalTransition, 409),
    (ImageNotInAlbum, 404),
    (ImageDataRemoved, 410),  # retention removed its files: gone for good, not missing
    (PromptRejected, 422),
    (UnsafeImage, 409),
    (Conflict, 409),
    (StorageUnavailable, 503),
    (QueueUnavailable, 503),
    (DatabaseUnavailable, 503),
    (DomainError, 422),
    (RateLimited, 429),
    (UserQueueFull, 429),
    (InsufficientScope, 403),
)

_BACKTICKED = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")


def problem(
    request: Request[Any, Any, Any], status: int, code: str, detail: str, **extra: Any
) -> Response[Problem]:
    headers: dict[str, str] = extra.pop("headers", {}) or {}
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id is None:
        # Outside the request-context middleware (the router's own 404 and 405): the id and the
        # JSON headers that the middleware would add are added here.
        request_id = request_id_of(request.scope)
        headers.update(
            {"X-Request-ID": request_id, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        )
    body = Problem(
        type=TYPE_PREFIX + code.replace("_", "-"),
        title="Client Closed Request" if status == CLIENT_CLOSED else HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        code=code,
        instance=request.url.path,
        request_id=request_id,
        **extra,
    )
    if body.retry_after is not None:
        headers["Retry-After"] = str(body.retry_after)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation(request: Request[Any, Any, Any], error: ValidationException) -> Response[Problem]:
    """Litestar's body and parameter errors: name the field, and its allowed values if any."""
    first = error.extra[0] if isinstance(error.extra, list) and error.extra else {}
    message = str(first.get("message", error.detail)) if isinstance(first, dict) else error.detail
    field = first.get("key") if isinstance(first, dict) else None
    if field == "data":  # the body as a whole: a missing or unknown field is named in the message
        named = _BACKTICKED.search(message)
        field = named.group(1) if named else None
    # A field inside an object (`parameters.scheduler`) lists the values of the field it is.
    leaf = field.rsplit(".", 1)[-1] if isinstance(field, str) else None
    allowed = list(ENUM_FIELDS[leaf]) if leaf in ENUM_FIELDS and "enum" in message else None
    if allowed:
        message = f"{message}; allowed: {', '.join(allowed)}"
    return problem(request, 400, "invalid_request", message, field=field, allowed=allowed)


def _http(request: Request[Any, Any, Any], error: HTTPException) -> Response[Problem]:
    if isinstance(error, ValidationException):
        return _validation(request, error)
    status = error.status_code
    if status >= 500:
        log.error("http error", status=status, detail=error.detail, exc_info=error)
        return problem(request, status, "internal_error", "the server could not complete the request")
    if status == 405 and hidden_route(request):
        # the router answers a wrong method before any guard: the operators' routes would show
        # themselves to anyone by it, so it is answered as the route that is not there
        return _http(request, NotFoundException())
    code = HTTP_CODES.get(status, "http_error")
    return problem(request, status, code, error.detail, headers=dict(error.headers or {}))


def hidden_route(request: Request[Any, Any, Any]) -> bool:
    """A route that must look missing to this caller whatever the method: the operators' (the
    guard answers 404 for anyone else) and the local sign-in where it is not offered."""
    return request.url.path.startswith(HIDDEN_PREFIX) or _hidden_sign_in(request)


def _hidden_sign_in(request: Request[Any, Any, Any]) -> bool:
    """The local sign-in route, on a server that does not offer it to this caller: it answers
    every method as a missing route does (the route itself 404s a POST)."""
    if request.url.path.rstrip("/") != LOCAL_SIGN_IN:
        return False
    from nexus_image.entrypoints.http.controllers.studio import from_this_machine  # it imports this module

    setup = getattr(request.app.state, "studio", None)
    return not (getattr(setup, "local_sign_in", False) and from_this_machine(request))


def _business(request: Request[Any, Any, Any], error: Exception) -> Response[Problem]:
    status = next(s for kind, s in DOMAIN_STATUS if isinstance(error, kind))
    code = str(getattr(error, "code", "error"))
    extra: dict[str, Any] = {}
    detail = str(error)
    if isinstance(error, InvalidValue):
        detail = error.message
        extra.update(field=error.field, allowed=list(error.allowed) or None)
    elif isinstance(error, PromptRejected):
        extra.update(category=error.category, layer=error.layer, field="prompt")
    elif isinstance(error, UnsafeImage):
        extra.update(reason=error.reason, field="is_public")
    elif isinstance(error, InsufficientTokens):
        extra.update(required=error.required, balance=error.balance)
    elif isinstance(error, RateLimited):
        extra.update(retry_after=error.retry_after)
    elif isinstance(error, InsufficientScope):
        challenge = f'Bearer realm="nexus-image", error="insufficient_scope", scope="{error.scope}"'
        extra.update(scope=error.scope, headers={"WWW-Authenticate": challenge})
    elif isinstance(error, UserQueueFull):
        extra.update(
            retry_after=error.retry_after,
            tier=error.tier,
            max_queued=error.cap,
            queued=error.queued,
            field="num_images",
        )
    elif isinstance(error, QuotaExceeded):
        state = error.state
        extra.update(quota=state.quota.value, limit=state.limit, used=state.used, tier=error.tier)
        if state.resets_at is not None:
            extra.update(
                resets_at=state.resets_at.isoformat(),
                retry_after=max(1, math.ceil((state.resets_at - datetime.now(UTC)).total_seconds())),
            )
        if state.quota is Quota.BYTES_STORED:
            status = 403
    elif isinstance(error, MissingUpload | PayloadTooLarge | UploadQuotaExceeded):
        extra.update(field=error.field)
    elif status == 503:
        log.warning("dependency unavailable", error=detail)
        detail = "a service this request needs is unavailable; try again shortly"
        extra.update(retry_after=UNAVAILABLE_RETRY_SECONDS)
    return problem(request, status, code, detail, **extra)


def handle(request: Request[Any, Any, Any], error: Exception) -> Response[Problem]:
    """Every exception that leaves a handler, guard or body parser comes through here. A
    client that went away before its request was read (a body cut off mid-way) is not a server
    error: 499 (nginx's "client closed request"), one line in the log, no traceback."""
    if body_timed_out(request.scope):
        log.info("request body timed out", error=type(error).__name__)
        return problem(
            request, 408, "request_timeout", "the request body stopped arriving; send it again", headers=CLOSE
        )
    if client_gone(request.scope):
        log.info("client closed the request", error=type(error).__name__)
        return problem(request, CLIENT_CLOSED, "client_closed_request", "the client closed the request")
    if isinstance(error, HTTPException):
        return _http(request, error)
    if any(isinstance(error, kind) for kind, _ in DOMAIN_STATUS):
        return _business(request, error)
    log.exception("unhandled error", exc_info=error)
    return problem(request, 500, "internal_error", "the server could not complete the request")


CLIENT_CLOSED = 499
CLOSE = {"Connection": "close"}
EXCEPTION_HANDLERS = {Exception: handle}
