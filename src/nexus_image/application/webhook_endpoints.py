"""A user's webhook endpoints, signing secrets and delivery logs. Only the owner sees or
changes them; anyone else's answer exactly like missing ones."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from nexus_image.application.errors import NotVisible
from nexus_image.application.ports import Clock, IdGenerator, UnitOfWork, UnitOfWorkFactory
from nexus_image.application.transactions import account_secrets, in_transaction
from nexus_image.domain.errors import InvalidValue
from nexus_image.domain.webhooks import (
    MAX_ENDPOINTS,
    DestinationPolicy,
    SigningSecrets,
    WebhookDelivery,
    WebhookEndpoint,
    checked_destination,
    events_of,
    new_secret,
)

MAX_DESCRIPTION = 200


@dataclass(slots=True)
class ManageWebhooks:
    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    policy: DestinationPolicy
    grace: timedelta = timedelta(hours=24)

    def _owned(self, uow: UnitOfWork, user_id: str, endpoint_id: str) -> WebhookEndpoint:
        endpoint = uow.webhooks.endpoint(user_id, endpoint_id)
        if endpoint is None:
            raise NotVisible("webhook endpoint", endpoint_id)
        return endpoint

    def create(
        self, user_id: str, url: str, events: Iterable[str] | None = None, description: str = ""
    ) -> WebhookEndpoint:
        endpoint = WebhookEndpoint(
            id=self.ids.new_id(),
            user_id=user_id,
            url=checked_destination(url, self.policy, "url"),
            events=events_of(events),
            secrets=SigningSecrets(new_secret()),
            created_at=self.clock.now(),
            description=_description(description),
        )

        def work(uow: UnitOfWork) -> WebhookEndpoint:
            if len(uow.webhooks.endpoints(user_id)) >= MAX_ENDPOINTS:
                raise InvalidValue("url", f"at most {MAX_ENDPOINTS} webhook endpoints per user")
            uow.webhooks.add_endpoint(endpoint)
            return endpoint

        return in_transaction(self.uow_factory, work)

    def endpoints(self, user_id: str) -> list[WebhookEndpoint]:
        with self.uow_factory() as uow:
            return uow.webhooks.endpoints(user_id)

    def get(self, user_id: str, endpoint_id: str) -> WebhookEndpoint:
        with self.uow_factory() as uow:
            return self._owned(uow, user_id, endpoint_id)

    def update(
        self,
        user_id: str,
        endpoint_id: str,
        *,
        url: str | None = None,
        events: Iterable[str] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
    ) -> WebhookEndpoint:
        checked = checked_destination(url, self.policy, "url") if url is not None else None

        def work(uow: UnitOfWork) -> WebhookEndpoint:
            endpoint = self._owned(uow, user_id, endpoint_id)
            if checked is not None:
                endpoint.url = checked
            if events is not None:
                endpoint.events = events_of(events)
            if description is not None:
                endpoint.description = _description(description)
            if enabled is not None:
                endpoint.enabled = enabled
            uow.webhooks.save_endpoint(endpoint)
            return endpoint

        return in_transaction(self.uow_factory, work)

    def delete(self, user_id: str, endpoint_id: str) -> None:
        def work(uow: UnitOfWork) -> None:
            uow.webhooks.remove_endpoint(self._owned(uow, user_id, endpoint_id).id)

        in_transaction(self.uow_factory, work)

    def rotate(self, user_id: str, endpoint_id: str) -> WebhookEndpoint:
        """A new secret; the old one still signs (beside it) for the grace period."""

        def work(uow: UnitOfWork) -> WebhookEndpoint:
            endpoint = self._owned(uow, user_id, endpoint_id)
            endpoint.secrets.rotate(self.clock.now(), self.grace)
            uow.webhooks.save_endpoint(endpoint)
            return endpoint

        return in_transaction(self.uow_factory, work)

    def account_secrets(self, user_id: str, rotate: bool = False) -> SigningSecrets:
        """The secrets that sign the deliveries to the user's requests' own webhook URLs."""

        def work(uow: UnitOfWork) -> SigningSecrets:
            found = account_secrets(uow, user_id)
            if rotate:
                found.rotate(self.clock.now(), self.grace)
                uow.webhooks.save_account_secrets(user_id, found)
            return found

        return in_transaction(self.uow_factory, work)

    def endpoint_deliveries(self, user_id: str, endpoint_id: str, limit: int = 100) -> list[WebhookDelivery]:
        with self.uow_factory() as uow:
            self._owned(uow, user_id, endpoint_id)
            return uow.webhooks.deliveries(user_id, endpoint_id=endpoint_id, limit=limit)

    def job_deliveries(self, user_id: str, job_id: str, limit: int = 100) -> list[WebhookDelivery]:
        """Every delivery of one of the user's jobs (anyone else's job: not found)."""
        with self.uow_factory() as uow:
            job = uow.jobs.get(job_id)
            if job is None or job.user_id != user_id:
                raise NotVisible("image", job_id)
            return uow.webhooks.deliveries(user_id, job_id=job_id, limit=limit)

    def replay(self, user_id: str, delivery_id: str) -> WebhookDelivery:
        """Send a delivery again now: the same id and body (see WebhookDelivery.replay)."""

        def work(uow: UnitOfWork) -> WebhookDelivery:
            delivery = uow.webhooks.delivery(delivery_id)
            if delivery is None or delivery.user_id != user_id:
                raise NotVisible("webhook delivery", delivery_id)
            delivery.replay(self.clock.now())
            uow.webhooks.save_delivery(delivery)
            return delivery

        return in_transaction(self.uow_factory, work)


def _description(text: str) -> str:
    if len(text) > MAX_DESCRIPTION:
        raise InvalidValue("description", f"description is longer than {MAX_DESCRIPTION} characters")
    return text
