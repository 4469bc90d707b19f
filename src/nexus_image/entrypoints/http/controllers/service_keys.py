"""Service keys, for operators (scope `admin`): create one (its token is shown once), list them
(never a secret, nor its hash), revoke one (refused at once by every replica)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from litestar import Controller, delete, get, post
from msgspec import Meta, Struct

from nexus_image.application.audit import RecordAudit
from nexus_image.application.service_keys import CreateServiceKey, ManageServiceKeys
from nexus_image.domain.service_key import MAX_NAME, MAX_USER, Scope, ServiceKey
from nexus_image.entrypoints.http.actions import audited
from nexus_image.entrypoints.http.auth import SCOPE
from nexus_image.entrypoints.http.docs import problems

MAX_LIFETIME_SECONDS = 10 * 365 * 24 * 3600


class CreateKeyRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """A new key: its name, its scopes, whom it is (default `service:<name>`), when it expires
    (`expires_in_seconds` from now, or `expires_at`; neither: never) and its own rate limit."""

    name: Annotated[str, Meta(min_length=1, max_length=MAX_NAME)]
    scopes: Annotated[list[Scope], Meta(min_length=1, max_length=len(Scope))]
    user_id: Annotated[str, Meta(min_length=1, max_length=MAX_USER)] | None = None
    expires_in_seconds: Annotated[int, Meta(ge=1, le=MAX_LIFETIME_SECONDS)] | None = None
    expires_at: Annotated[datetime, Meta(tz=True)] | None = None
    rate_limit_per_minute: Annotated[int, Meta(ge=1, le=1_000_000)] | None = None


class ServiceKeyResponse(Struct, kw_only=True):
    id: str
    name: str
    user_id: str
    scopes: list[str]
    status: str  # active, expired or revoked
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    rate_limit_per_minute: int | None

    @classmethod
    def of(cls, key: ServiceKey, status: str) -> ServiceKeyResponse:
        return cls(
            id=key.id,
            name=key.name,
            user_id=key.user_id,
            scopes=sorted(key.scopes),
            status=status,
            created_at=key.created_at,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
            rate_limit_per_minute=key.rate_limit_per_minute,
        )


class CreatedKeyResponse(ServiceKeyResponse, kw_only=True):
    token: str  # `nxi_sk_<id>_<secret>`: shown here once, never again


class ServiceKeysController(Controller):
    path = "/admin/keys"
    tags = ["admin"]
    opt = {SCOPE: Scope.ADMIN.value}

    @post(
        "/",
        sync_to_thread=True,
        summary="Create a service key (its token is shown once)",
        responses=problems(404, 413, 415, 422),
    )
    def create_key(
        self, data: CreateKeyRequest, user: str, service_keys: ManageServiceKeys, audit: RecordAudit
    ) -> CreatedKeyResponse:
        """Needs the `admin` scope (anyone else: 404, as a missing route). The answer's `token`
        (`nxi_sk_<id>_<secret>`) is the only time the secret is seen: only its SHA-256 is kept.
        The key is `user_id` (default `service:<name>`) wherever a JWT would be; with
        `on_behalf_of` it may name the user it acts for (`X-On-Behalf-Of`). With
        `rate_limit_per_minute`, every request made with it counts, on every route."""
        with audited(audit, user, "service_key.create") as note:
            created = service_keys.create(
                CreateServiceKey(
                    name=data.name,
                    scopes=[scope.value for scope in data.scopes],
                    user_id=data.user_id,
                    expires_at=data.expires_at,
                    expires_in=(
                        timedelta(seconds=data.expires_in_seconds) if data.expires_in_seconds else None
                    ),
                    rate_limit_per_minute=data.rate_limit_per_minute,
                )
            )
            note.target = created.key.label
            note.detail = f"scopes {' '.join(sorted(created.key.scopes))}, as {created.key.user_id}"
        shown = ServiceKeyResponse.of(created.key, service_keys.state(created.key))
        return CreatedKeyResponse(
            **{f: getattr(shown, f) for f in shown.__struct_fields__}, token=created.token
        )

    @get("/", sync_to_thread=True, summary="Every service key (never a secret)", responses=problems(404))
    def list_keys(self, service_keys: ManageServiceKeys) -> list[ServiceKeyResponse]:
        """Needs the `admin` scope. Newest first, revoked and expired keys included (`status`)."""
        return [ServiceKeyResponse.of(key, service_keys.state(key)) for key in service_keys.list_keys()]

    @delete("/{key_id:str}", sync_to_thread=True, summary="Revoke a service key", responses=problems(404))
    def revoke_key(self, key_id: str, user: str, service_keys: ManageServiceKeys, audit: RecordAudit) -> None:
        """Needs the `admin` scope. From now on every request with the key is 401, on every
        replica (keys are checked in the database on each request). Revoking again is harmless."""
        with audited(audit, user, "service_key.revoke", f"key:{key_id}") as note:
            key = service_keys.revoke(key_id)
            note.target = key.label
