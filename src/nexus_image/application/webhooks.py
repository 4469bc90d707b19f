"""Webhook deliveries: made from the outbox (every event of a job is written there with the
change it describes, so none is missed when a broker or a receiver is down), then sent, signed,
and retried on the schedule until a receiver answers 2xx."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from nexus_image.application.ports import (
    Clock,
    IdGenerator,
    Metrics,
    NullMetrics,
    UnitOfWork,
    UnitOfWorkFactory,
)
from nexus_image.application.ports.webhooks import WebhookSender
from nexus_image.application.transactions import account_secrets
from nexus_image.domain.events import DomainEvent
from nexus_image.domain.webhooks import (
    ALL_EVENTS,
    MESSAGE_PREFIX,
    RetrySchedule,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    signature_header,
)

log = logging.getLogger(__name__)
CLAIM_SECONDS = 60.0  # a claimed delivery is free again after this, should its sender die
WEBHOOK_EVENTS = frozenset(e.value for e in ALL_EVENTS)


def message(event: DomainEvent, links: dict[str, str]) -> str:
    """The body every attempt sends: Standard Webhooks' `type`, `timestamp` and `data`."""
    data = event.to_dict()
    data.pop("parameters", None)  # the image's settings are at `links.image`, not in every message
    data["image_id"] = event.job_id
    data["links"] = links
    body = {"type": event.event_type, "timestamp": event.occurred_at.isoformat(), "data": data}
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


@dataclass(slots=True)
class RouteWebhookEvents:
    """Turns each outbox event into one delivery per destination that wants it: the request's
    own `webhook_url` (filtered by its `webhook_events`) and each of the owner's enabled
    endpoints subscribed to it. Done in one transaction with marking the events routed."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    public_url: str = ""
    batch_size: int = 200

    def links(self, job_id: str) -> dict[str, str]:
        base = f"{self.public_url.rstrip('/')}/api/v1/images/{job_id}"
        return {"image": base, "file": f"{base}/file", "deliveries": f"{base}/deliveries"}

    def execute(self) -> int:
        """Route one batch; returns how many deliveries were made."""
        with self.uow_factory() as uow:
            records = uow.outbox.unrouted(self.batch_size)
            if not records:
                return 0
            made = 0
            now = self.clock.now()
            endpoints: dict[str, list[WebhookEndpoint]] = {}  # each user's, read once a batch
            for record in records:
                event = record.event
                if event.event_type not in WEBHOOK_EVENTS:
                    continue
                targets: list[tuple[str, str | None]] = []
                wanted = uow.webhooks.subscription(event.job_id)
                if wanted is not None and event.event_type in wanted.events:
                    targets.append((wanted.url, None))
                if event.user_id not in endpoints:
                    endpoints[event.user_id] = uow.webhooks.endpoints(event.user_id)
                targets += [(e.url, e.id) for e in endpoints[event.user_id] if e.wants(event.event_type)]
                body = message(event, self.links(event.job_id)) if targets else ""
                for url, endpoint_id in targets:
                    uow.webhooks.add_delivery(
                        WebhookDelivery(
                            id=MESSAGE_PREFIX + self.ids.new_id(),
                            user_id=event.user_id,
                            job_id=event.job_id,
                            event_type=event.event_type,
                            url=url,
                            endpoint_id=endpoint_id,
                            body=body,
                            created_at=now,
                            next_attempt_at=now,
                        )
                    )
                    made += 1
            uow.outbox.mark_routed([r.position for r in records], now)
            uow.commit()
            return made

    def drain(self) -> int:
        total = 0
        while (count := self.execute()) > 0:
            total += count
        return total


@dataclass(slots=True)
class DeliverWebhooks:
    """Sends the deliveries whose time has come, each signed with every secret valid now, and
    records each attempt; a delivery answered 2xx is done, others wait for their next try."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    sender: WebhookSender
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    batch_size: int = 20
    parallel: int = 8
    metrics: Metrics = field(default_factory=NullMetrics)
    draw: Callable[[], float] = random.random

    def execute(self) -> int:
        """Send one batch; returns how many attempts were made."""
        now = self.clock.now()
        claim = now + timedelta(seconds=CLAIM_SECONDS)
        with self.uow_factory() as uow:
            due = uow.webhooks.due(now, self.batch_size, claim)
            targets = {d.id: self._target(uow, d) for d in due}
            uow.commit()
        for delivery in due:
            delivery.next_attempt_at = claim
        if len(due) > 1 and self.parallel > 1:  # one slow receiver does not hold up the others
            with ThreadPoolExecutor(min(self.parallel, len(due)), thread_name_prefix="webhook") as pool:
                list(pool.map(lambda d: self._attempt(d, targets[d.id]), due))
        else:
            for delivery in due:
                self._attempt(delivery, targets[delivery.id])
        return len(due)

    def _target(self, uow: UnitOfWork, delivery: WebhookDelivery) -> tuple[str, list[str]] | str:
        """Where the delivery goes now and the secrets that sign it; or why it goes nowhere. An
        endpoint's delivery follows the endpoint: its URL as it is now, and none once it is
        disabled or deleted."""
        now = self.clock.now()
        if delivery.endpoint_id is None:
            return delivery.url, account_secrets(uow, delivery.user_id).valid(now)
        endpoint = uow.webhooks.endpoint(delivery.user_id, delivery.endpoint_id)
        if endpoint is None:
            return "endpoint deleted"
        if not endpoint.enabled:
            return "endpoint disabled"
        return endpoint.url, endpoint.secrets.valid(now)

    def _attempt(self, delivery: WebhookDelivery, target: tuple[str, list[str]] | str) -> None:
        started = self.clock.now()
        claimed = delivery.next_attempt_at
        if isinstance(target, str):  # nobody to send it to any more
            attempt = WebhookAttempt(len(delivery.attempts) + 1, started, None, 0, target)
            permanent = True
        else:
            url, secrets = target
            timestamp = int(started.timestamp())
            body = delivery.body.encode()
            headers = {
                "content-type": "application/json",
                "user-agent": "nexus-image-webhooks",
                "webhook-id": delivery.id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": signature_header(secrets, delivery.id, timestamp, body),
            }
            result = self.sender.send(url, headers, body)
            attempt = WebhookAttempt(
                len(delivery.attempts) + 1,
                started,
                result.status_code,
                result.latency_ms,
                result.error,
                result.response,
            )
            permanent = result.permanent
        delivery.record(attempt, self.schedule, self.draw(), permanent)
        with self.uow_factory() as uow:
            kept = uow.webhooks.save_delivery(delivery, claimed)
            uow.commit()
        if not kept:  # the claim lapsed (a slow attempt) and another sender took it over
            log.info("webhook %s: attempt %d not recorded, its claim lapsed", delivery.id, attempt.number)
            return
        status = delivery.status.value
        self.metrics.webhook_attempted(status if status != "pending" else "retry")
        if attempt.error:
            where = urlsplit(delivery.url).hostname  # never the path or query: they may hold tokens
            log.info("webhook %s to %s: attempt %d %s", delivery.id, where, attempt.number, attempt.error)

    def drain(self) -> int:
        total = 0
        while (count := self.execute()) > 0:
            total += count
        return total
