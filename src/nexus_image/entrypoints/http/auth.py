"""Authentication as an application-wide guard: every route needs a valid bearer token unless
its handler is explicitly marked public (health, readiness, metrics, the API documentation).

A guard rather than a middleware, so that a refusal is answered like every other error (same
problem body, request id and access log line) and comes before the body is even read."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, ValidationException
from litestar.handlers.base import BaseRouteHandler

from nexus_image.entrypoints.http.security import InvalidToken, TokenVerifier

PUBLIC = "public"
"""Handler `opt` key: `opt={PUBLIC: True}` serves the route without a token."""

REALM = 'Bearer realm="nexus-image"'


def _refuse(detail: str, error: str | None) -> NotAuthorizedException:
    challenge = REALM if error is None else f'{REALM}, error="{error}"'
    return NotAuthorizedException(detail=detail, headers={"WWW-Authenticate": challenge})


async def require_token(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    if handler.opt.get(PUBLIC):
        return
    sent = [value for name, value in connection.scope["headers"] if name.lower() == b"authorization"]
    # Two headers (or two joined by a proxy into one, comma-separated: a bearer token has no
    # comma): which one would be the caller? Refuse rather than guess.
    if len(sent) > 1 or (sent and b"," in sent[0]):
        message = "send one Authorization header, not several"
        raise ValidationException(detail=message, extra=[{"key": "Authorization", "message": message}])
    header = sent[0].decode("latin-1") if sent else ""
    if not header:
        raise _refuse("a bearer token is required", None)
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _refuse("the Authorization header must be 'Bearer <token>'", "invalid_request")
    verifier: TokenVerifier = connection.app.state.verifier
    try:
        user_id, tier = verifier.identify(token.strip())
    except InvalidToken as error:
        raise _refuse(str(error), "invalid_token") from None
    connection.scope["user"] = user_id
    connection.scope["auth"] = {"tier": tier}  # what else the token says of the caller
    structlog.contextvars.bind_contextvars(user_id=user_id)


def caller_tier(request: Request[Any, Any, Any]) -> str | None:
    """The tier the caller's token names (its tier claim), if any: the queue's policy decides
    what it is worth (a tier it does not know is its default one)."""
    auth = request.scope.get("auth")
    tier = auth.get("tier") if isinstance(auth, dict) else None
    return tier if isinstance(tier, str) else None


def current_user(request: Request[Any, Any, Any]) -> str:
    """The caller's id, as the guard established it from the token's `sub`."""
    user = request.scope.get("user")
    if not isinstance(user, str):  # a handler marked public asked for a user: refuse, never guess
        raise _refuse("a bearer token is required", None)
    return user
