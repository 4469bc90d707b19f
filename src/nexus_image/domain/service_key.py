"""Service keys: long-lived, scoped, revocable credentials for other services.

A key is shown once, as `nxi_sk_<id>_<secret>` (recognisable in logs and by secret scanners);
only the SHA-256 of its secret is kept. It is some user (its own `service:<name>` unless it names
another), holds a closed set of scopes, may expire, and stops working the moment it is revoked.
A key holding `on_behalf_of` may act for any user it names: it is then that user in everything."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from nexus_image.domain.errors import DomainError, InvalidValue
from nexus_image.domain.names import canonical_name

TOKEN_PREFIX = "nxi_sk_"
KEY_FAMILY_PREFIX = "nxi_"  # any bearer token starting so is ours, never a JWT
KEY_ID_LENGTH = 12  # hex digits
MAX_NAME = 100
MAX_USER = 255
USE_RECORDED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often


class Scope(StrEnum):
    IMAGES_READ = "images:read"
    IMAGES_WRITE = "images:write"
    WEBHOOKS = "webhooks"
    ON_BEHALF_OF = "on_behalf_of"
    ADMIN = "admin"


SCOPES: frozenset[str] = frozenset(scope.value for scope in Scope)
USER_SCOPES: frozenset[str] = frozenset(
    s.value for s in (Scope.IMAGES_READ, Scope.IMAGES_WRITE, Scope.WEBHOOKS)
)
"""What a user's own token (a JWT) may do: everything but acting for others and administration."""
OPERATOR_SCOPES: frozenset[str] = USER_SCOPES | {Scope.ADMIN.value}
"""What an operator's token (a JWT whose role claim names an operator role) may do."""


class InvalidApiKey(DomainError):
    """The key cannot be used. The client is told only "invalid api key"; `reason` (unknown,
    malformed, revoked, expired) is for the logs."""

    code = "invalid_api_key"

    def __init__(self, reason: str) -> None:
        super().__init__("invalid api key")
        self.reason = reason


def parse_scopes(values: Iterable[str]) -> frozenset[str]:
    """The scopes named (trimmed, case-insensitive); an unknown or missing one is refused with
    the list of known ones."""
    allowed = tuple(sorted(SCOPES))
    chosen = frozenset(value.strip().lower() for value in values)
    unknown = sorted(chosen - SCOPES)
    if unknown:
        raise InvalidValue("scopes", f"unknown scope {unknown[0]!r}", allowed)
    if not chosen:
        raise InvalidValue("scopes", "a key needs at least one scope", allowed)
    return chosen


def user_name(text: str, field_name: str = "user_id") -> str:
    """A user id as the platform's tokens name users (canonical, 1 to 255 printable characters)."""
    name = canonical_name(text)
    if not 0 < len(name) <= MAX_USER or not name.isprintable():
        raise InvalidValue(field_name, f"{field_name} must be 1 to {MAX_USER} printable characters")
    return name


def key_name(text: str) -> str:
    name = canonical_name(text)
    if not 0 < len(name) <= MAX_NAME or not name.isprintable():
        raise InvalidValue("name", f"a key's name must be 1 to {MAX_NAME} printable characters")
    return name


def may_act_for_others(scopes: frozenset[str]) -> bool:
    """Whether a caller holding `scopes` may name the user it acts for."""
    return Scope.ON_BEHALF_OF in scopes


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class KeyToken:
    """The text a client sends: `nxi_sk_<id>_<secret>`."""

    key_id: str
    secret: str

    @property
    def text(self) -> str:
        return f"{TOKEN_PREFIX}{self.key_id}_{self.secret}"

    @classmethod
    def parse(cls, text: str) -> KeyToken:
        """The id and secret of a well-formed token; InvalidApiKey("malformed") otherwise."""
        key_id, _, secret = text.removeprefix(TOKEN_PREFIX).partition("_")
        well_formed = (
            text.startswith(TOKEN_PREFIX)
            and len(key_id) == KEY_ID_LENGTH
            and all(c in "0123456789abcdef" for c in key_id)
            and 0 < len(secret) <= 256
        )
        if not well_formed:
            raise InvalidApiKey("malformed")
        return cls(key_id, secret)


@dataclass(slots=True)
class ServiceKey:
    id: str
    name: str
    secret_hash: str
    user_id: str  # whom the key is when it names nobody
    scopes: frozenset[str]
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    rate_limit_per_minute: int | None = None  # None: no limit of the key's own

    def __post_init__(self) -> None:
        if self.rate_limit_per_minute is not None and self.rate_limit_per_minute < 1:
            raise InvalidValue("rate_limit_per_minute", "a key's rate limit must be at least 1 a minute")
        if self.expires_at is not None and self.expires_at <= self.created_at:
            raise InvalidValue("expires_at", "a key must expire after it is created")
        unknown = self.scopes - SCOPES
        if unknown:
            raise InvalidValue("scopes", f"unknown scope {sorted(unknown)[0]!r}", tuple(sorted(SCOPES)))

    @property
    def label(self) -> str:
        """How the audit trail names the key beside the user it acted as."""
        return f"key:{self.id} ({self.name})"

    @classmethod
    def default_user(cls, name: str) -> str:
        return f"service:{name}"[:MAX_USER]

    def matches(self, secret: str) -> bool:
        """Whether `secret` is this key's, compared in constant time."""
        return hmac.compare_digest(hash_secret(secret), self.secret_hash)

    def refusal_at(self, now: datetime) -> str | None:
        """Why the key cannot be used at `now` (revoked, expired), or None when it can."""
        if self.revoked_at is not None and self.revoked_at <= now:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return None

    def usable_at(self, now: datetime) -> bool:
        return self.refusal_at(now) is None

    def check(self, secret: str, now: datetime) -> None:
        """Refuse a wrong secret, a revoked or an expired key (InvalidApiKey, with the reason)."""
        if not self.matches(secret):
            raise InvalidApiKey("wrong secret")
        refusal = self.refusal_at(now)
        if refusal is not None:
            raise InvalidApiKey(refusal)

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    def may_act_for_others(self) -> bool:
        return may_act_for_others(self.scopes)

    def use_due(self, now: datetime) -> bool:
        """Whether a use at `now` should be written down (at most once a minute)."""
        return self.last_used_at is None or now - self.last_used_at >= USE_RECORDED_EVERY

    def used(self, now: datetime) -> None:
        self.last_used_at = now

    def revoke(self, now: datetime) -> None:
        """Revoked from `now` on; revoking again keeps the first revocation's time."""
        if self.revoked_at is None:
            self.revoked_at = now
