"""OpenAPI details shared by the controllers: the problem responses each route can give."""

from __future__ import annotations

from http import HTTPStatus

from litestar import Litestar
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Components,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIResponse,
    OpenAPIType,
    Schema,
    SecurityScheme,
)

from nexus_image.entrypoints.http.errors import PROBLEM_JSON
from nexus_image.entrypoints.http.schemas import Problem

BEARER = "BearerToken"
SECURITY: list[dict[str, list[str]]] = [{BEARER: []}]
COMPONENTS = Components(
    security_schemes={
        BEARER: SecurityScheme(
            type="http",
            scheme="bearer",
            description="A JWT from the platform (the user id is its `sub` claim), or a service "
            "key (`nxi_sk_<id>_<secret>`) made by an operator.",
        )
    }
)

WHY: dict[int, str] = {
    400: "Malformed request: the body or a parameter does not match the schema (`field` names it): "
    'types are strict (`"42"` is not a number, `1` not a boolean), NUL characters are refused, JSON '
    "nests at most 32 levels, one Authorization header",
    401: "Missing, expired or invalid bearer token",
    402: "Not enough tokens (`required` and `balance` say how many)",
    403: "Visible to the caller, but only its owner may do this; or the credential lacks the scope "
    "the route needs (`insufficient_scope`: `scope` names it)",
    404: "No such resource, or one the caller may not see",
    409: "Conflicts with the current state (finished job, taken name, reused Idempotency-Key)",
    413: "Request body too large",
    410: "The image's files were removed by its tier's retention (`GET /images/{id}` still "
    "answers, with `data_removed_at`)",
    415: "The body is not `application/json`",
    422: "Well-formed but not allowed: an invalid value (`field`, `allowed`) or a moderated prompt "
    "(`category`)",
    429: "Too many requests; see Retry-After",
    503: "A service this request needs is unavailable; see Retry-After",
}

ALWAYS = (400, 401, 403, 429, 503)  # any credential may lack the scope; a key may have its own limit
SEALED_BODIES = (
    "GenerateRequest",
    "VisibilityRequest",
    "AlbumRequest",
    "ModerationCheckRequest",
    "PresetRequest",
    "PresetChanges",
    "PresetDocument",
    "PresetParameters",
)
HEADER_SCHEMAS = {
    "Location": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.URI_REFERENCE),
    "Preference-Applied": Schema(type=OpenAPIType.STRING, pattern="^wait=[0-9]+$"),
    "Content-Disposition": Schema(type=OpenAPIType.STRING, pattern="^attachment"),
}
RETRY_STATUSES = ("429", "503")
RETRY_AFTER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.INTEGER, minimum=1),
    description="Whole seconds to wait before trying again",
    required=True,
)


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Response specs for the problem statuses a route may answer, plus those any route may."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=WHY.get(status, HTTPStatus(status).phrase),
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in sorted({*statuses, *ALWAYS})
    }


def seal_request_bodies(app: Litestar) -> None:
    """Request bodies refuse unknown fields (a misspelt `negative_promt` is an error, not
    silently ignored); say so in the schema, which Litestar does not do by itself."""
    schemas = app.openapi_schema.components.schemas or {}
    for name in SEALED_BODIES:
        schemas[name].additional_properties = False


def document_headers(app: Litestar) -> None:
    """Response headers get their schema (a documentation-only `ResponseHeader` cannot carry
    one, and a header without one is not valid OpenAPI), and every 429 and 503 documents the
    `Retry-After` it carries (Litestar's `ResponseSpec` takes no headers)."""
    for path in (app.openapi_schema.paths or {}).values():
        operations = (path.get, path.put, path.post, path.delete, path.options, path.head, path.patch)
        for operation in filter(None, operations):
            for status, response in (operation.responses or {}).items():
                if not isinstance(response, OpenAPIResponse):
                    continue
                headers = response.headers or {}
                for name, schema in HEADER_SCHEMAS.items():
                    header = headers.get(name)
                    if isinstance(header, OpenAPIHeader) and header.schema is None:
                        header.schema = schema
                if str(status) in RETRY_STATUSES:
                    response.headers = {**headers, "Retry-After": RETRY_AFTER}
