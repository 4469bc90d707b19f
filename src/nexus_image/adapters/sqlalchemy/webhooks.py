"""Webhook endpoints, secrets, subscriptions and deliveries in SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from nexus_image.adapters.sqlalchemy.base import SqlRepository
from nexus_image.adapters.sqlalchemy.tables import (
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_secrets,
    webhook_subscriptions,
)
from nexus_image.application.ports.webhooks import Subscription
from nexus_image.domain.webhooks import (
    DeliveryStatus,
    SigningSecrets,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)


def _events(values: Any) -> frozenset[WebhookEvent]:
    return frozenset(WebhookEvent(v) for v in values)


def _endpoint(row: RowMapping) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row["id"],
        user_id=row["user_id"],
        url=row["url"],
        events=_events(row["events"]),
        secrets=SigningSecrets(row["secret"], row["previous_secret"], row["previous_until"]),
        created_at=row["created_at"],
        description=row["description"],
        enabled=row["enabled"],
    )


def _endpoint_values(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "user_id": endpoint.user_id,
        "url": endpoint.url,
        "events": sorted(endpoint.events),
        "secret": endpoint.secrets.current,
        "previous_secret": endpoint.secrets.previous,
        "previous_until": endpoint.secrets.previous_until,
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "created_at": endpoint.created_at,
    }


def _delivery(row: RowMapping, attempts: list[WebhookAttempt]) -> WebhookDelivery:
    return WebhookDelivery(
        id=row["id"],
        user_id=row["user_id"],
        job_id=row["job_id"],
        event_type=row["event_type"],
        url=row["url"],
        endpoint_id=row["endpoint_id"],
        body=row["body"],
        created_at=row["created_at"],
        status=DeliveryStatus(row["status"]),
        next_attempt_at=row["next_attempt_at"],
        attempts=attempts,
    )


class SqlWebhooks(SqlRepository):
    def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self.execute(sa.insert(webhook_endpoints).values(**_endpoint_values(endpoint)))

    def endpoint(self, user_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        row = (
            self.execute(
                sa.select(webhook_endpoints).where(
                    webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.user_id == user_id
                )
            )
            .mappings()
            .first()
        )
        return _endpoint(row) if row is not None else None

    def endpoints(self, user_id: str) -> list[WebhookEndpoint]:
        rows = self.execute(
            sa.select(webhook_endpoints)
            .where(webhook_endpoints.c.user_id == user_id)
            .order_by(webhook_endpoints.c.created_at, webhook_endpoints.c.id)
        ).mappings()
        return [_endpoint(row) for row in rows]

    def save_endpoint(self, endpoint: WebhookEndpoint) -> None:
        values = _endpoint_values(endpoint)
        self.execute(
            sa.update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint.id).values(**values)
        )

    def remove_endpoint(self, endpoint_id: str) -> None:
        self.execute(sa.delete(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id))

    def account_secrets(self, user_id: str) -> SigningSecrets | None:
        row = (
            self.execute(sa.select(webhook_secrets).where(webhook_secrets.c.user_id == user_id))
            .mappings()
            .first()
        )
        return SigningSecrets(row["secret"], row["previous_secret"], row["previous_until"]) if row else None

    def save_account_secrets(self, user_id: str, secrets: SigningSecrets) -> None:
        values = {
            "secret": secrets.current,
            "previous_secret": secrets.previous,
            "previous_until": secrets.previous_until,
        }
        updated = self.execute(
            sa.update(webhook_secrets).where(webhook_secrets.c.user_id == user_id).values(**values)
        )
        if updated.rowcount == 0:
            self.execute(sa.insert(webhook_secrets).values(user_id=user_id, **values))

    def subscribe(self, job_id: str, subscription: Subscription) -> None:
        self.execute(
            sa.insert(webhook_subscriptions).values(
                job_id=job_id, url=subscription.url, events=sorted(subscription.events)
            )
        )

    def subscription(self, job_id: str) -> Subscription | None:
        row = (
            self.execute(sa.select(webhook_subscriptions).where(webhook_subscriptions.c.job_id == job_id))
            .mappings()
            .first()
        )
        return Subscription(row["url"], _events(row["events"])) if row else None

    def add_delivery(self, delivery: WebhookDelivery) -> None:
        self.execute(sa.insert(webhook_deliveries).values(**self._delivery_values(delivery)))

    @staticmethod
    def _delivery_values(delivery: WebhookDelivery) -> dict[str, Any]:
        return {
            "id": delivery.id,
            "user_id": delivery.user_id,
            "job_id": delivery.job_id,
            "endpoint_id": delivery.endpoint_id,
            "event_type": delivery.event_type,
            "url": delivery.url,
            "body": delivery.body,
            "created_at": delivery.created_at,
            "status": delivery.status.value,
            "next_attempt_at": delivery.next_attempt_at,
        }

    def save_delivery(self, delivery: WebhookDelivery, claimed_until: datetime | None = None) -> bool:
        statement = sa.update(webhook_deliveries).where(webhook_deliveries.c.id == delivery.id)
        if claimed_until is not None:
            statement = statement.where(
                webhook_deliveries.c.status == "pending",
                webhook_deliveries.c.next_attempt_at == claimed_until,
            )
        values = {"status": delivery.status.value, "next_attempt_at": delivery.next_attempt_at}
        if self.execute(statement.values(**values)).rowcount == 0 and claimed_until is not None:
            return False
        stored = self.execute(
            sa.select(sa.func.coalesce(sa.func.max(webhook_attempts.c.number), 0)).where(
                webhook_attempts.c.delivery_id == delivery.id
            )
        ).scalar_one()
        new = [a for a in delivery.attempts if a.number > stored]
        if new:
            self.execute(
                sa.insert(webhook_attempts),
                [
                    {
                        "delivery_id": delivery.id,
                        "number": a.number,
                        "at": a.at,
                        "status_code": a.status_code,
                        "latency_ms": a.latency_ms,
                        "error": (a.error or "")[:512] or None,
                        "response": a.response[:1024],
                    }
                    for a in new
                ],
            )
        return True

    def _with_attempts(self, rows: list[RowMapping]) -> list[WebhookDelivery]:
        ids = [row["id"] for row in rows]
        attempts: dict[str, list[WebhookAttempt]] = {i: [] for i in ids}
        if ids:
            found = self.execute(
                sa.select(webhook_attempts)
                .where(webhook_attempts.c.delivery_id.in_(ids))
                .order_by(webhook_attempts.c.delivery_id, webhook_attempts.c.number)
            ).mappings()
            for a in found:
                attempts[a["delivery_id"]].append(
                    WebhookAttempt(
                        a["number"], a["at"], a["status_code"], a["latency_ms"], a["error"], a["response"]
                    )
                )
        return [_delivery(row, attempts[row["id"]]) for row in rows]

    def delivery(self, delivery_id: str) -> WebhookDelivery | None:
        rows = list(
            self.execute(
                sa.select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
            ).mappings()
        )
        found = self._with_attempts(rows)
        return found[0] if found else None

    def due(self, now: datetime, limit: int, claim_until: datetime) -> list[WebhookDelivery]:
        statement = (
            sa.select(webhook_deliveries)
            .where(webhook_deliveries.c.status == "pending", webhook_deliveries.c.next_attempt_at <= now)
            .order_by(webhook_deliveries.c.next_attempt_at)
            .limit(limit)
        )
        if self.postgres:
            statement = statement.with_for_update(skip_locked=True)
        rows = list(self.execute(statement).mappings())
        if rows:
            self.execute(
                sa.update(webhook_deliveries)
                .where(webhook_deliveries.c.id.in_([row["id"] for row in rows]))
                .values(next_attempt_at=claim_until)
            )
        return self._with_attempts(rows)

    def deliveries(
        self, user_id: str, *, job_id: str | None = None, endpoint_id: str | None = None, limit: int = 100
    ) -> list[WebhookDelivery]:
        statement = sa.select(webhook_deliveries).where(webhook_deliveries.c.user_id == user_id)
        if job_id is not None:
            statement = statement.where(webhook_deliveries.c.job_id == job_id)
        if endpoint_id is not None:
            statement = statement.where(webhook_deliveries.c.endpoint_id == endpoint_id)
        statement = statement.order_by(
            webhook_deliveries.c.created_at.desc(), webhook_deliveries.c.id.desc()
        ).limit(limit)
        return self._with_attempts(list(self.execute(statement).mappings()))
