"""Webhooks in memory: the committed state, and a unit of work's writes applied at commit."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from nexus_image.application.ports.webhooks import Subscription
from nexus_image.domain.webhooks import DeliveryStatus, SigningSecrets, WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    from nexus_image.adapters.memory.database import MemoryStore


@dataclass
class WebhookState:
    endpoints: dict[str, WebhookEndpoint] = field(default_factory=dict)
    secrets: dict[str, SigningSecrets] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    deliveries: dict[str, WebhookDelivery] = field(default_factory=dict)
    routed: set[int] = field(default_factory=set)  # outbox positions looked at


class MemoryWebhooks:
    """Reads see the committed state with this unit's own writes over it; objects handed out
    are copies, so nothing changes the store before commit."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.state = store.webhooks
        self.writes: list[Callable[[WebhookState], None]] = []
        self.local = WebhookState()  # this unit's view: committed copies plus its own writes
        self.removed: set[str] = set()

    def _write(self, change: Callable[[WebhookState], None]) -> None:
        change(self.local)
        self.writes.append(change)

    def _endpoints(self) -> dict[str, WebhookEndpoint]:
        with self.store.lock:
            merged = {k: v for k, v in self.state.endpoints.items() if k not in self.removed}
        merged.update(self.local.endpoints)
        return merged

    def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        kept = copy.deepcopy(endpoint)
        self._write(lambda s: s.endpoints.__setitem__(kept.id, copy.deepcopy(kept)))

    def endpoint(self, user_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        found = self._endpoints().get(endpoint_id)
        return copy.deepcopy(found) if found is not None and found.user_id == user_id else None

    def endpoints(self, user_id: str) -> list[WebhookEndpoint]:
        mine = [e for e in self._endpoints().values() if e.user_id == user_id]
        return [copy.deepcopy(e) for e in sorted(mine, key=lambda e: (e.created_at, e.id))]

    def save_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self.add_endpoint(endpoint)

    def remove_endpoint(self, endpoint_id: str) -> None:
        self.removed.add(endpoint_id)

        def remove(state: WebhookState) -> None:
            state.endpoints.pop(endpoint_id, None)

        self._write(remove)

    def account_secrets(self, user_id: str) -> SigningSecrets | None:
        with self.store.lock:
            found = self.local.secrets.get(user_id) or self.state.secrets.get(user_id)
        return copy.deepcopy(found)

    def save_account_secrets(self, user_id: str, secrets: SigningSecrets) -> None:
        kept = copy.deepcopy(secrets)
        self._write(lambda s: s.secrets.__setitem__(user_id, copy.deepcopy(kept)))

    def subscribe(self, job_id: str, subscription: Subscription) -> None:
        self._write(lambda s: s.subscriptions.__setitem__(job_id, subscription))

    def subscription(self, job_id: str) -> Subscription | None:
        with self.store.lock:
            return self.local.subscriptions.get(job_id) or self.state.subscriptions.get(job_id)

    def add_delivery(self, delivery: WebhookDelivery) -> None:
        kept = copy.deepcopy(delivery)
        self._write(lambda s: s.deliveries.__setitem__(kept.id, copy.deepcopy(kept)))

    def save_delivery(self, delivery: WebhookDelivery, claimed_until: datetime | None = None) -> bool:
        if claimed_until is not None:
            with self.store.lock:
                stored = self.state.deliveries.get(delivery.id)
                held = stored is not None and stored.status is DeliveryStatus.PENDING
                if not held or stored is None or stored.next_attempt_at != claimed_until:
                    return False
        self.add_delivery(delivery)
        return True

    def _deliveries(self) -> dict[str, WebhookDelivery]:
        with self.store.lock:
            merged = dict(self.state.deliveries)
        merged.update(self.local.deliveries)
        return merged

    def delivery(self, delivery_id: str) -> WebhookDelivery | None:
        return copy.deepcopy(self._deliveries().get(delivery_id))

    def due(self, now: datetime, limit: int, claim_until: datetime) -> list[WebhookDelivery]:
        with self.store.lock:  # claimed at once, as SKIP LOCKED would keep others off them
            ready = [
                d
                for d in self.state.deliveries.values()
                if d.status is DeliveryStatus.PENDING
                and d.next_attempt_at is not None
                and d.next_attempt_at <= now
            ]
            ready.sort(key=lambda d: (d.next_attempt_at or now, d.id))
            taken = [copy.deepcopy(d) for d in ready[:limit]]
            for d in ready[:limit]:
                d.next_attempt_at = claim_until
        return taken

    def deliveries(
        self, user_id: str, *, job_id: str | None = None, endpoint_id: str | None = None, limit: int = 100
    ) -> list[WebhookDelivery]:
        mine = [
            d
            for d in self._deliveries().values()
            if d.user_id == user_id
            and (job_id is None or d.job_id == job_id)
            and (endpoint_id is None or d.endpoint_id == endpoint_id)
        ]
        mine.sort(key=lambda d: (d.created_at, d.id), reverse=True)
        return [copy.deepcopy(d) for d in mine[:limit]]

    def check(self) -> None:
        return None

    def apply(self) -> None:
        for change in self.writes:
            change(self.state)
