"""Webhooks: where a user's events go, what was sent, and the sending itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from nexus_image.domain.webhooks import SigningSecrets, WebhookDelivery, WebhookEndpoint, WebhookEvent


@dataclass(frozen=True, slots=True)
class Subscription:
    """A request's own webhook: its jobs' events, filtered, go to `url`."""

    url: str
    events: frozenset[WebhookEvent]


class WebhookRepository(Protocol):
    def add_endpoint(self, endpoint: WebhookEndpoint) -> None: ...
    def endpoint(self, user_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        """The user's endpoint (another user's is None, like a missing one)."""

    def endpoints(self, user_id: str) -> list[WebhookEndpoint]: ...
    def save_endpoint(self, endpoint: WebhookEndpoint) -> None: ...
    def remove_endpoint(self, endpoint_id: str) -> None: ...
    def account_secrets(self, user_id: str) -> SigningSecrets | None:
        """The secrets that sign the deliveries of the user's requests' own webhook URLs."""

    def save_account_secrets(self, user_id: str, secrets: SigningSecrets) -> None: ...
    def subscribe(self, job_id: str, subscription: Subscription) -> None: ...
    def subscription(self, job_id: str) -> Subscription | None: ...
    def add_delivery(self, delivery: WebhookDelivery) -> None: ...
    def save_delivery(self, delivery: WebhookDelivery, claimed_until: datetime | None = None) -> bool:
        """Its status, next attempt and any attempts added since it was read. With
        `claimed_until` (a sender's claim), only while that claim holds: False when it lapsed
        and the delivery changed since (nothing is written then)."""

    def delivery(self, delivery_id: str) -> WebhookDelivery | None: ...
    def due(self, now: datetime, limit: int, claim_until: datetime) -> list[WebhookDelivery]:
        """Pending deliveries whose time has come, oldest first, claimed until `claim_until`
        (their next attempt moved there, so that other senders skip them meanwhile)."""

    def deliveries(
        self, user_id: str, *, job_id: str | None = None, endpoint_id: str | None = None, limit: int = 100
    ) -> list[WebhookDelivery]:
        """The user's deliveries for one job or one endpoint, newest first, with attempts."""


@dataclass(frozen=True, slots=True)
class SendResult:
    status_code: int | None
    latency_ms: int
    error: str | None = None
    response: str = ""
    permanent: bool = False  # never worth another try (a refused destination)


class WebhookSender(Protocol):
    def send(self, url: str, headers: Mapping[str, str], body: bytes) -> SendResult:
        """POST `body` once: never follows a redirect, refuses destinations the policy forbids,
        bounded in time; never raises for the receiver's faults."""
