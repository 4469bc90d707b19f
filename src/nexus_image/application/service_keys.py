"""Service keys: created (the secret shown once), listed, revoked, and checked on every request
that presents one, so that a revocation takes effect at once wherever the request lands."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from nexus_image.application.errors import NotFound, RateLimitExceeded
from nexus_image.application.limits import RateLimit
from nexus_image.application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from nexus_image.application.transactions import in_transaction
from nexus_image.domain.errors import InvalidValue
from nexus_image.domain.service_key import (
    KEY_ID_LENGTH,
    InvalidApiKey,
    KeyToken,
    ServiceKey,
    hash_secret,
    key_name,
    parse_scopes,
    user_name,
)

log = logging.getLogger(__name__)

KEY_RATE_WINDOW = 60.0  # seconds: a key's own limit is so many requests a minute


def key_rate_key(key_id: str) -> str:
    """The rate-limit key every request made with the key counts under, whatever its route."""
    return f"apikey:{key_id}"


def new_key_id() -> str:
    return secrets.token_hex(KEY_ID_LENGTH // 2)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class CreateServiceKey:
    name: str
    scopes: Iterable[str]
    user_id: str | None = None  # whom the key is; default `service:<name>`
    expires_at: datetime | None = None
    expires_in: timedelta | None = None  # or a lifetime from now (not both)
    rate_limit_per_minute: int | None = None


@dataclass(frozen=True, slots=True)
class CreatedServiceKey:
    key: ServiceKey
    token: str  # the only time the secret is seen: it is not kept


@dataclass(slots=True)
class ManageServiceKeys:
    """Keys are kept as their secret's SHA-256. Authenticating reads the key on every request
    (no cache: a revoked key is refused by every replica at once), counts the request against
    the key's own rate limit in the same transaction, and writes its last use at most once a
    minute."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    make_id: Callable[[], str] = new_key_id
    make_secret: Callable[[], str] = new_secret

    def create(self, command: CreateServiceKey) -> CreatedServiceKey:
        now = self.clock.now()
        if command.expires_at is not None and command.expires_in is not None:
            raise InvalidValue("expires_at", "give expires_at or expires_in, not both")
        expires_at = command.expires_at
        if command.expires_in is not None:
            if command.expires_in <= timedelta(0):
                raise InvalidValue("expires_in_seconds", "a key's lifetime must be positive")
            expires_at = now + command.expires_in
        name = key_name(command.name)
        owner = user_name(command.user_id) if command.user_id is not None else ServiceKey.default_user(name)
        secret = self.make_secret()
        key = ServiceKey(
            id=self.make_id(),
            name=name,
            secret_hash=hash_secret(secret),
            user_id=owner,
            scopes=parse_scopes(command.scopes),
            created_at=now,
            expires_at=expires_at,
            rate_limit_per_minute=command.rate_limit_per_minute,
        )

        def work(uow: UnitOfWork) -> None:
            uow.service_keys.add(key)

        in_transaction(self.uow_factory, work)
        return CreatedServiceKey(key, KeyToken(key.id, secret).text)

    def list_keys(self) -> list[ServiceKey]:
        with self.uow_factory() as uow:
            return uow.service_keys.list_all()

    def state(self, key: ServiceKey) -> str:
        """`active`, `revoked` or `expired`, now."""
        return key.refusal_at(self.clock.now()) or "active"

    def revoke(self, key_id: str) -> ServiceKey:
        """Revoked from now on (revoking again keeps the first time); NotFound when unknown."""
        now = self.clock.now()

        def work(uow: UnitOfWork) -> ServiceKey:
            key = uow.service_keys.get(key_id)
            if key is None:
                raise NotFound("service key", key_id)
            key.revoke(now)
            uow.service_keys.record_revocation(key.id, now)
            return key

        return in_transaction(self.uow_factory, work)

    def authenticate(self, text: str) -> ServiceKey:
        """The key `text` presents, if usable now: InvalidApiKey (unknown, malformed, wrong
        secret, revoked, expired) otherwise; RateLimitExceeded past the key's own limit."""
        token = KeyToken.parse(text)
        now = self.clock.now()

        def work(uow: UnitOfWork) -> ServiceKey:
            key = uow.service_keys.get(token.key_id)
            if key is None:
                raise InvalidApiKey("unknown")
            key.check(token.secret, now)
            if key.rate_limit_per_minute is not None:
                rate = RateLimit(key.rate_limit_per_minute, KEY_RATE_WINDOW)
                wait = rate.take(uow.rate_limits, key_rate_key(key.id), now.timestamp())
                if wait is not None:
                    raise RateLimitExceeded(wait)
            if key.use_due(now):
                key.used(now)
                uow.service_keys.record_use(key.id, now)
            return key

        return in_transaction(self.uow_factory, work)
