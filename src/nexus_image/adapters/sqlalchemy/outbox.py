"""The transactional outbox and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from nexus_image.adapters.sqlalchemy.base import SqlRepository
from nexus_image.adapters.sqlalchemy.mappers import audit_values, event_from_row, event_values
from nexus_image.adapters.sqlalchemy.notify import CHANNEL
from nexus_image.adapters.sqlalchemy.tables import audit_log, outbox, webhook_routing
from nexus_image.application.ports import AuditRecord, OutboxRecord
from nexus_image.domain.events import DomainEvent
from nexus_image.domain.webhooks import WebhookEvent

WEBHOOK_EVENTS = frozenset(e.value for e in WebhookEvent)


class SqlOutbox(SqlRepository):
    """Events are rows written in the transaction of the change they describe.

    `pending` returns unsent rows by position. On PostgreSQL it locks them with
    `FOR UPDATE SKIP LOCKED` until the relay's transaction ends, so several relays share the work
    and never publish the same row at the same time. Positions are allocated at insert, so rows
    of concurrent transactions may become visible out of position order; one job's events are
    written by successive transactions and keep their order, which is what consumers need
    (the job id is the message key). SQLite has one writer anyway and relays run in one process;
    delivery there, as everywhere, is at least once, with the event id for consumers to dedupe."""

    def __init__(self, uow: Any) -> None:
        super().__init__(uow)
        self._notified = False

    def add(self, event: DomainEvent) -> None:
        self.execute(sa.insert(outbox).values(**event_values(event)))
        if event.event_type in WEBHOOK_EVENTS:
            self.execute(sa.insert(webhook_routing).values(event_id=event.event_id))
        if self.postgres and not self._notified:
            # delivered at commit, to relays in other processes (OutboxListener); once is enough
            self.execute(sa.select(sa.func.pg_notify(CHANNEL, "")))
            self._notified = True

    def reset(self) -> None:
        super().reset()
        self._notified = False

    def pending(self, limit: int) -> list[OutboxRecord]:
        statement = (
            sa.select(outbox.c.position, outbox.c.payload)
            .where(outbox.c.sent_at.is_(None))
            .order_by(outbox.c.position)
            .limit(limit)
        )
        if self.postgres:
            statement = statement.with_for_update(skip_locked=True)
        return [OutboxRecord(r["position"], event_from_row(r)) for r in self.execute(statement).mappings()]

    def mark_sent(self, positions: list[int], at: datetime) -> None:
        if positions:
            self.execute(
                sa.update(outbox)
                .where(outbox.c.position.in_(positions), outbox.c.sent_at.is_(None))
                .values(sent_at=at)
            )

    def unrouted(self, limit: int) -> list[OutboxRecord]:
        """Claims its own rows (`webhook_routing`), never the outbox's: the relay's are left be."""
        statement = (
            sa.select(outbox.c.position, outbox.c.payload)
            .select_from(webhook_routing.join(outbox, outbox.c.event_id == webhook_routing.c.event_id))
            .order_by(outbox.c.position)
            .limit(limit)
        )
        if self.postgres:
            statement = statement.with_for_update(skip_locked=True, of=webhook_routing)
        return [OutboxRecord(r["position"], event_from_row(r)) for r in self.execute(statement).mappings()]

    def mark_routed(self, positions: list[int], at: datetime) -> None:
        if positions:
            routed = sa.select(outbox.c.event_id).where(outbox.c.position.in_(positions))
            self.execute(sa.delete(webhook_routing).where(webhook_routing.c.event_id.in_(routed)))


class SqlAudit(SqlRepository):
    """Append-only: who did what to which target, with what outcome."""

    def record(self, entry: AuditRecord) -> None:
        self.execute(sa.insert(audit_log).values(**audit_values(entry)))
