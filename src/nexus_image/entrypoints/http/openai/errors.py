"""Errors on `/v1` in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.

Every error is first answered by the API's one mapping (`errors.handle`: statuses, details,
Retry-After, logging), then re-shaped with OpenAI's conventions: invalid values are 400
`invalid_request_error` naming the `param`; a moderation refusal is 400
`content_policy_violation`; too few tokens is 429 `insufficient_quota`; the rate limit and a
full queue are 429 `rate_limit_exceeded` with Retry-After; a bad key is 401 `invalid_api_key`.
`x-should-retry: false` tells the official SDKs not to retry what a retry cannot fix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.openapi.datastructures import ResponseSpec
from msgspec import Struct

from nexus_image.entrypoints.http.errors import handle
from nexus_image.entrypoints.http.schemas import Problem
from nexus_image.entrypoints.http.waiting import requested_wait

OPENAI_PREFIX = "/v1"
NO_RETRY = {"x-should-retry": "false"}
Handler = Callable[[Request[Any, Any, Any], Exception], Response[Any]]


class OpenAIError(Exception):
    """An answer only these routes give: the images did not come in time, or failed."""

    def __init__(
        self, status: int, message: str, code: str, kind: str = "server_error", retry: bool = False
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.kind, self.retry = status, message, code, kind, retry


class ErrorDetail(Struct):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorBody(Struct):
    error: ErrorDetail


def _shaped(problem: Problem) -> tuple[int, str, str | None, bool]:
    """(status, type, code, whether a retry may help) in OpenAI's conventions."""
    status, code = problem.status, problem.code
    if code == "insufficient_tokens":
        return 429, "insufficient_quota", "insufficient_quota", False
    if code == "prompt_rejected":
        return 400, "invalid_request_error", "content_policy_violation", False
    if status == 429:
        return 429, "requests", "rate_limit_exceeded", True
    if status == 401:
        return 401, "invalid_request_error", "invalid_api_key", False
    if status == 403:
        return 403, "permission_error", code, False
    if status >= 500:
        return status, "server_error", code, True
    return (400 if status == 422 else status), "invalid_request_error", code, False


def _message(problem: Problem) -> str:
    """The problem's detail (which names the category, the tokens needed, ...), with the
    allowed values where it does not list them."""
    detail = problem.detail
    if problem.allowed and "allowed:" not in detail:
        detail = f"{detail}; allowed: {', '.join(problem.allowed)}"
    return detail


def openai_error(request: Request[Any, Any, Any], error: Exception) -> Response[ErrorBody]:
    """The exception handler of every `/v1` route."""
    if isinstance(error, OpenAIError):
        body = ErrorBody(ErrorDetail(error.message, error.kind, None, error.code))
        own = {} if error.retry else dict(NO_RETRY)
        wait = requested_wait(request) if error.status >= 500 else None  # after a wait: applied
        return Response(body, status_code=error.status, headers=own | (wait.applied if wait else {}))
    answer = handle(request, error)
    problem = answer.content
    assert isinstance(problem, Problem)
    status, kind, code, retry = _shaped(problem)
    headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-type"}
    if not retry or status == 409:  # the SDKs retry 409s, taking them for a lock timeout
        headers.update(NO_RETRY)
    body = ErrorBody(ErrorDetail(_message(problem), kind, problem.field, code))
    return Response(body, status_code=status, media_type="application/json", headers=headers)


OPENAI_EXCEPTION_HANDLERS = {Exception: openai_error}

WHY: dict[int, str] = {
    400: "Invalid request (`param` names the field), or a prompt refused (`content_policy_violation`)",
    401: "Missing or invalid API key (`invalid_api_key`)",
    403: "The key lacks the scope (`insufficient_scope`)",
    404: "No such model or route, or an upload named that is not the caller's",
    409: "A reused Idempotency-Key, or the caller's upload allowance is full",
    413: "A file or body too large",
    415: "The body is not JSON (generations) or multipart (edits)",
    429: "Rate limit or queue cap (`rate_limit_exceeded`, Retry-After), or too few tokens "
    "(`insufficient_quota`)",
    500: "Every image failed (refunded: `generation_failed`)",
    503: "A service it needs is unavailable (Retry-After)",
    504: "Not ready within the wait: cancelled and refunded (`generation_timeout`)",
}


def openai_errors(*statuses: int) -> dict[int, ResponseSpec]:
    """The OpenAPI responses of the errors a `/v1` route may answer, plus 400, 401 and 503."""
    return {
        status: ResponseSpec(data_container=ErrorBody, description=WHY[status], generate_examples=False)
        for status in sorted({*statuses, 400, 401, 503})
    }


def on_openai_paths(handler: Handler) -> Handler:
    """The application's own exception handler, answering in OpenAI's shape under `/v1`: what
    fails before a route is chosen (an unknown path or method) reaches no router's handler."""

    def either(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
        path = request.url.path
        if path == OPENAI_PREFIX or path.startswith(OPENAI_PREFIX + "/"):
            return openai_error(request, error)
        return handler(request, error)

    return either
