"""Webhooks: the caller's endpoints and signing secrets, and what was delivered where. Every
route needs the `webhooks` scope; another user's endpoint, delivery or image answers like a
missing one."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter
from msgspec import Meta, Struct

from nexus_image.application.audit import RecordAudit
from nexus_image.application.ports import RateLimiter
from nexus_image.application.webhook_endpoints import ManageWebhooks
from nexus_image.domain.webhooks import (
    MAX_URL_LENGTH,
    SigningSecrets,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from nexus_image.entrypoints.http.actions import audited
from nexus_image.entrypoints.http.docs import problems
from nexus_image.entrypoints.http.limits import count_request

WEBHOOKS = {"scope": "webhooks"}
Url = Annotated[str, Meta(min_length=1, max_length=MAX_URL_LENGTH, description="An http(s) URL")]
Description = Annotated[str, Meta(max_length=200)]
Limit = Annotated[int, Parameter(ge=1, le=500, description="At most this many, newest first")]


class EndpointRequest(Struct, kw_only=True, forbid_unknown_fields=True):
    url: Url
    events: list[WebhookEvent] | None = None  # none: every event
    description: Description = ""


class EndpointChange(Struct, kw_only=True, forbid_unknown_fields=True):
    url: Url | None = None
    events: list[WebhookEvent] | None = None
    description: Description | None = None
    enabled: bool | None = None


class SecretResponse(Struct):
    """The secret receivers verify with (`whsec_…`), and during a rotation's grace period the
    previous one, which still signs beside it until `previous_valid_until`."""

    secret: str
    previous_secret: str | None
    previous_valid_until: datetime | None

    @classmethod
    def of(cls, secrets: SigningSecrets) -> SecretResponse:
        return cls(secrets.current, secrets.previous, secrets.previous_until)


class EndpointResponse(Struct):
    id: str
    url: str
    events: list[str]
    description: str
    enabled: bool
    created_at: datetime
    secret: str | None = None  # on creation and rotation only

    @classmethod
    def of(cls, endpoint: WebhookEndpoint, with_secret: bool = False) -> EndpointResponse:
        events = sorted(e.value for e in endpoint.events)
        secret = endpoint.secrets.current if with_secret else None
        return cls(
            endpoint.id,
            endpoint.url,
            events,
            endpoint.description,
            endpoint.enabled,
            endpoint.created_at,
            secret,
        )


class AttemptResponse(Struct):
    attempt: int
    at: datetime
    status: int | None
    latency_ms: int
    error: str | None
    response: str


class DeliveryResponse(Struct):
    id: str  # the webhook-id header, the same on every attempt
    image_id: str
    event: str
    url: str
    endpoint_id: str | None
    status: str
    created_at: datetime
    next_attempt_at: datetime | None
    attempts: list[AttemptResponse]
    payload: Any

    @classmethod
    def of(cls, d: WebhookDelivery) -> DeliveryResponse:
        attempts = [
            AttemptResponse(a.number, a.at, a.status_code, a.latency_ms, a.error, a.response)
            for a in d.attempts
        ]
        return cls(
            d.id,
            d.job_id,
            d.event_type,
            d.url,
            d.endpoint_id,
            d.status.value,
            d.created_at,
            d.next_attempt_at,
            attempts,
            json.loads(d.body),
        )


class WebhooksController(Controller):
    path = "/"
    tags = ["webhooks"]
    opt = WEBHOOKS

    @get(
        "/webhooks/secret",
        sync_to_thread=True,
        summary="The secret of request webhooks",
        responses=problems(),
    )
    def secret(self, user: str, webhooks: ManageWebhooks) -> SecretResponse:
        """Signs the deliveries to the `webhook_url` of the caller's generation requests."""
        return SecretResponse.of(webhooks.account_secrets(user))

    @post(
        "/webhooks/secret/rotate",
        status_code=200,
        sync_to_thread=True,
        summary="A new secret for request webhooks",
        responses=problems(),
    )
    def rotate_secret(self, user: str, webhooks: ManageWebhooks, audit: RecordAudit) -> SecretResponse:
        """The previous secret keeps signing beside the new one for the grace period
        (NEXUS_IMAGE_WEBHOOK_SECRET_GRACE_SECONDS, a day by default)."""
        with audited(audit, user, "webhook.secret.rotate"):
            return SecretResponse.of(webhooks.account_secrets(user, rotate=True))

    @post(
        "/webhooks/endpoints",
        status_code=201,
        sync_to_thread=True,
        summary="Add a webhook endpoint",
        responses=problems(400, 413, 415, 422),
    )
    def create(
        self, data: EndpointRequest, user: str, webhooks: ManageWebhooks, audit: RecordAudit
    ) -> EndpointResponse:
        """Every event it subscribes to (all when `events` is absent), of every job of the
        caller's, is delivered to `url`, signed with its own secret (shown here and by
        `GET …/secret`). A URL naming a refused address (loopback, private, link-local,
        metadata) is a 422; names are resolved and judged at each delivery."""
        with audited(audit, user, "webhook.endpoint.create") as note:
            endpoint = webhooks.create(user, data.url, data.events, data.description)
            note.target = endpoint.id
        return EndpointResponse.of(endpoint, with_secret=True)

    @get(
        "/webhooks/endpoints",
        sync_to_thread=True,
        summary="The caller's webhook endpoints",
        responses=problems(),
    )
    def list_endpoints(self, user: str, webhooks: ManageWebhooks) -> list[EndpointResponse]:
        return [EndpointResponse.of(e) for e in webhooks.endpoints(user)]

    @get(
        "/webhooks/endpoints/{endpoint_id:str}",
        sync_to_thread=True,
        summary="One endpoint",
        responses=problems(404),
    )
    def get_endpoint(self, endpoint_id: str, user: str, webhooks: ManageWebhooks) -> EndpointResponse:
        return EndpointResponse.of(webhooks.get(user, endpoint_id))

    @patch(
        "/webhooks/endpoints/{endpoint_id:str}",
        sync_to_thread=True,
        summary="Change an endpoint",
        responses=problems(400, 404, 413, 415, 422),
    )
    def update(
        self, endpoint_id: str, data: EndpointChange, user: str, webhooks: ManageWebhooks, audit: RecordAudit
    ) -> EndpointResponse:
        """Only the fields sent change. `enabled: false` stops deliveries to it: events meanwhile
        are not kept for it, and messages not yet sent are dropped (failed, replayable). A new
        `url` applies to the retries of messages already made, too."""
        with audited(audit, user, "webhook.endpoint.update", endpoint_id):
            endpoint = webhooks.update(
                user,
                endpoint_id,
                url=data.url,
                events=data.events,
                description=data.description,
                enabled=data.enabled,
            )
        return EndpointResponse.of(endpoint)

    @delete(
        "/webhooks/endpoints/{endpoint_id:str}",
        sync_to_thread=True,
        summary="Remove an endpoint",
        responses=problems(404),
    )
    def remove(self, endpoint_id: str, user: str, webhooks: ManageWebhooks, audit: RecordAudit) -> None:
        with audited(audit, user, "webhook.endpoint.delete", endpoint_id):
            webhooks.delete(user, endpoint_id)

    @get(
        "/webhooks/endpoints/{endpoint_id:str}/secret",
        sync_to_thread=True,
        summary="An endpoint's secret",
        responses=problems(404),
    )
    def endpoint_secret(self, endpoint_id: str, user: str, webhooks: ManageWebhooks) -> SecretResponse:
        return SecretResponse.of(webhooks.get(user, endpoint_id).secrets)

    @post(
        "/webhooks/endpoints/{endpoint_id:str}/rotate-secret",
        status_code=200,
        sync_to_thread=True,
        summary="A new secret for an endpoint",
        responses=problems(404),
    )
    def rotate(
        self, endpoint_id: str, user: str, webhooks: ManageWebhooks, audit: RecordAudit
    ) -> SecretResponse:
        """Both secrets sign every delivery during the grace period, so receivers can switch
        without losing one."""
        with audited(audit, user, "webhook.endpoint.rotate", endpoint_id):
            return SecretResponse.of(webhooks.rotate(user, endpoint_id).secrets)

    @get(
        "/webhooks/endpoints/{endpoint_id:str}/deliveries",
        sync_to_thread=True,
        summary="What was delivered to an endpoint",
        responses=problems(404),
    )
    def endpoint_deliveries(
        self, endpoint_id: str, user: str, webhooks: ManageWebhooks, limit: Limit = 100
    ) -> list[DeliveryResponse]:
        return [DeliveryResponse.of(d) for d in webhooks.endpoint_deliveries(user, endpoint_id, limit)]

    @get(
        "/images/{image_id:str}/deliveries",
        sync_to_thread=True,
        summary="The webhook deliveries of an image",
        responses=problems(404),
    )
    def image_deliveries(
        self, image_id: str, user: str, webhooks: ManageWebhooks, limit: Limit = 100
    ) -> list[DeliveryResponse]:
        """Each message about the job, to each destination, with every attempt: when, the
        status answered, how long it took, and why it failed."""
        return [DeliveryResponse.of(d) for d in webhooks.job_deliveries(user, image_id, limit)]

    @post(
        "/webhooks/deliveries/{delivery_id:str}/replay",
        status_code=202,
        sync_to_thread=True,
        summary="Send a delivery again",
        responses=problems(404, 429),
    )
    def replay(
        self, delivery_id: str, user: str, webhooks: ManageWebhooks, audit: RecordAudit, limiter: RateLimiter
    ) -> DeliveryResponse:
        """The same message (same `webhook-id`, same body, signed anew) is sent again at once. A
        failed one gets that one attempt (replay again if it fails); a pending one keeps its
        schedule of retries. Counts against the caller's generation rate limit, so that replays
        cannot aim a flood of requests at a receiver."""
        count_request(limiter, user)
        with audited(audit, user, "webhook.delivery.replay", delivery_id):
            return DeliveryResponse.of(webhooks.replay(user, delivery_id))
