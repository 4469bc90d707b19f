"""Authentication as an application-wide guard: every route needs a valid bearer token unless
its handler is explicitly marked public (health, readiness, metrics, the API documentation).

A bearer token is a JWT from the platform, or a service key (`nxi_sk_...`), which is looked up
in the database on every request: a revoked key is refused at once by every replica. Each route
needs a scope (its handler's `opt={"scope": ...}`, else `images:read` to read and
`images:write` to change anything); a JWT holds the user scopes, a key the ones it was given. A
caller holding `on_behalf_of` may name the user it acts for (`X-On-Behalf-Of`): the request is
then that user's in everything, and its audit rows name the key too.

A guard rather than a middleware, so that a refusal is answered like every other error (same
problem body, request id and access log line) and comes before the body is even read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import structlog
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, ValidationException
from litestar.handlers.base import BaseRouteHandler

from nexus_image.application.errors import RateLimitExceeded
from nexus_image.application.ports.audit import ACTING_VIA
from nexus_image.domain.errors import AccountSuspended, InvalidValue
from nexus_image.domain.service_key import (
    KEY_FAMILY_PREFIX,
    KEY_ID_LENGTH,
    OPERATOR_SCOPES,
    TOKEN_PREFIX,
    USER_SCOPES,
    InvalidApiKey,
    Scope,
    may_act_for_others,
    user_name,
)
from nexus_image.entrypoints.http.errors import InsufficientScope, RateLimited
from nexus_image.entrypoints.http.limits import retry_after_header
from nexus_image.entrypoints.http.security import InvalidToken, TokenVerifier

PUBLIC = "public"
"""Handler `opt` key: `opt={PUBLIC: True}` serves the route without a token."""
SCOPE = "scope"
"""Handler `opt` key: `opt={SCOPE: "admin"}` is the scope the route needs (default: by method)."""
ALLOW_SUSPENDED = "allow_suspended"
"""Handler `opt` key: a suspended user may still call it (their account view)."""
ON_BEHALF_OF = "X-On-Behalf-Of"
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

REALM = 'Bearer realm="nexus-image"'

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a bearer token says the caller is, and what it may do."""

    user: str
    tier: str | None
    scopes: frozenset[str]
    key_id: str | None = None  # a service key's; None for a JWT
    key_name: str | None = None
    via: str = ""  # how the audit trail names the key

    def acting_for(self, named: str) -> Caller:
        """The same credential acting for `named` (the caller must hold `on_behalf_of`)."""
        return Caller(named, self.tier, self.scopes, self.key_id, self.key_name, self.via)


def _refuse(detail: str, error: str | None) -> NotAuthorizedException:
    challenge = REALM if error is None else f'{REALM}, error="{error}"'
    return NotAuthorizedException(detail=detail, headers={"WWW-Authenticate": challenge})


async def identify(app: Any, token: str) -> Caller:
    """The caller a bearer token names: InvalidToken for a JWT that is not valid, InvalidApiKey
    for a key that is not usable, RateLimitExceeded past the key's own limit."""
    if token.startswith(KEY_FAMILY_PREFIX):
        keys = app.state.parts.use_cases.service_keys
        key = await anyio.to_thread.run_sync(keys.authenticate, token)
        return Caller(key.user_id, None, key.scopes, key.id, key.name, key.label)
    verifier: TokenVerifier = app.state.verifier
    user_id, tier, operator = verifier.identity(token)
    return Caller(user_id, tier, OPERATOR_SCOPES if operator else USER_SCOPES)


async def _caller(connection: ASGIConnection[Any, Any, Any, Any], token: str) -> Caller:
    try:
        return await identify(connection.app, token)
    except InvalidToken as error:
        raise _refuse(str(error), "invalid_token") from None
    except InvalidApiKey as error:
        # the key's id when the token was well-formed (never any of its secret)
        key_id = None if error.reason == "malformed" else token[len(TOKEN_PREFIX) :][:KEY_ID_LENGTH]
        log.info("service key refused", reason=error.reason, key_id=key_id)
        raise _refuse(str(error), "invalid_token") from None
    except RateLimitExceeded as error:
        raise RateLimited(retry_after_header(error.wait)) from None


def required_scope(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> str:
    declared = handler.opt.get(SCOPE)
    if isinstance(declared, str):
        return declared
    method = str(connection.scope.get("method", "GET")).upper()
    return (Scope.IMAGES_READ if method in READING_METHODS else Scope.IMAGES_WRITE).value


def _named_user(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    sent = [
        value for name, value in connection.scope["headers"] if name.lower() == ON_BEHALF_OF.lower().encode()
    ]
    if not sent:
        return None
    if len(sent) > 1:
        message = f"send one {ON_BEHALF_OF} header, not several"
        raise ValidationException(detail=message, extra=[{"key": ON_BEHALF_OF, "message": message}])
    try:
        return user_name(sent[0].decode("utf-8"), ON_BEHALF_OF)
    except (InvalidValue, UnicodeDecodeError) as error:
        message = str(error) if isinstance(error, InvalidValue) else f"{ON_BEHALF_OF} must be UTF-8"
        raise ValidationException(detail=message, extra=[{"key": ON_BEHALF_OF, "message": message}]) from None


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
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
    return token.strip()


async def require_token(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    if handler.opt.get(PUBLIC):
        return
    needed = required_scope(connection, handler)
    if needed == Scope.ADMIN.value:
        # The operators' routes do not exist for anyone else: no token, a bad one or one
        # without the scope are all answered as a route that is not there.
        try:
            caller = await _caller(connection, _bearer(connection))
        except (NotAuthorizedException, ValidationException, RateLimited):
            raise NotFoundException() from None
        if needed not in caller.scopes:
            raise NotFoundException()
    else:
        caller = await _caller(connection, _bearer(connection))
        if needed not in caller.scopes:
            raise InsufficientScope(needed)
    named = _named_user(connection)
    if named is not None:
        if not may_act_for_others(caller.scopes):
            raise InsufficientScope(Scope.ON_BEHALF_OF.value)
        caller = caller.acting_for(named)
    _establish(connection, caller)


async def _suspended(connection: ASGIConnection[Any, Any, Any, Any], user: str) -> bool:
    watch = getattr(connection.app.state, "suspensions", None)
    return bool(watch is not None and await watch.contains(user))


def _establish(connection: ASGIConnection[Any, Any, Any, Any], caller: Caller) -> None:
    connection.scope["user"] = caller.user
    connection.scope["auth"] = {  # what else the token says of the caller
        "tier": caller.tier,
        "scopes": caller.scopes,
        "key_id": caller.key_id,
        "key_name": caller.key_name,
        "caller": caller,
    }
    # Audit rows written for this request (in this context, and the handler's thread, which
    # copies it) name the key beside the user it acted as.
    ACTING_VIA.set(caller.via)
    if caller.key_id is None:
        structlog.contextvars.bind_contextvars(user_id=caller.user)
    else:
        structlog.contextvars.bind_contextvars(user_id=caller.user, key_id=caller.key_id)


def _auth(connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
    auth = connection.scope.get("auth")
    return auth if isinstance(auth, dict) else {}


def caller_tier(request: Request[Any, Any, Any]) -> str | None:
    """The tier the caller's token names (its tier claim), if any: the queue's policy decides
    what it is worth (a tier it does not know is its default one)."""
    tier = _auth(request).get("tier")
    return tier if isinstance(tier, str) else None


def caller_scopes(connection: ASGIConnection[Any, Any, Any, Any]) -> frozenset[str]:
    """The scopes the caller's credential holds (none on a public route)."""
    scopes = _auth(connection).get("scopes")
    return scopes if isinstance(scopes, frozenset) else frozenset()


def _user(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    user = connection.scope.get("user")
    if not isinstance(user, str):  # a handler marked public asked for a user: refuse, never guess
        raise _refuse("a bearer token is required", None)
    return user


async def current_user(request: Request[Any, Any, Any]) -> str:
    """The caller's id, as the guard established it from the token's `sub`, the key's user or
    the user the key acts for. A suspended user is refused here (AccountSuspended), on every
    route that acts as a user but their account view: after the request's body was checked,
    so a malformed request is answered without a look at the database."""
    user = _user(request)
    if not request.route_handler.opt.get(ALLOW_SUSPENDED) and await _suspended(request, user):
        raise AccountSuspended(user)
    return user


def act_for(connection: ASGIConnection[Any, Any, Any, Any], named: str | None) -> str:
    """The user a request acts for when its body names one (the OpenAI-compatible API's `user`):
    a caller holding `on_behalf_of` acts for the user named (the request is theirs from here on);
    any other caller stays itself, `named` being only its own end-user tag. A body naming a
    different user than `X-On-Behalf-Of` did is refused (422, field `user`)."""
    caller = _user(connection)
    if named is None or not may_act_for_others(caller_scopes(connection)):
        return caller
    user = user_name(named, "user")
    if user == caller:
        return caller
    if _named_user(connection) is not None:
        raise InvalidValue("user", f"the body's user and {ON_BEHALF_OF} name different users")
    current = _auth(connection).get("caller")
    if isinstance(current, Caller):
        _establish(connection, current.acting_for(user))
    return user
