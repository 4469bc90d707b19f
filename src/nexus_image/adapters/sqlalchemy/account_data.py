"""One user's data in SQL, for export and erasure. Every removal or renaming touches at most
`limit` rows, chosen by primary key in a subquery (`... WHERE key IN (SELECT key ... LIMIT n)`,
row values for composite keys), so each transaction stays short however much the user has."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from nexus_image.adapters.sqlalchemy.base import SqlRepository
from nexus_image.adapters.sqlalchemy.mappers import job_from_row
from nexus_image.adapters.sqlalchemy.tables import (
    USER,
    album_images,
    albums,
    audit_log,
    favorites,
    idempotency_keys,
    jobs,
    outbox,
    presets,
    queue_users,
    queue_waiting,
    rate_limit_logs,
    service_keys,
    token_accounts,
    token_ledger,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_routing,
    webhook_secrets,
    webhook_subscriptions,
)
from nexus_image.application.ports import ImageCursor
from nexus_image.domain.erasure import renamed
from nexus_image.domain.job import ImageJob


def _length(column: sa.Column[Any]) -> int | None:
    return getattr(column.type, "length", None)


class SqlAccountData(SqlRepository):
    # --- export ----------------------------------------------------------------------------------
    def images_after(self, user_id: str, after: ImageCursor | None, limit: int) -> list[ImageJob]:
        """Served by ix_jobs_user_created."""
        where = [jobs.c.user_id == user_id]
        if after is not None:
            at, last = after
            where.append(sa.or_(jobs.c.created_at > at, sa.and_(jobs.c.created_at == at, jobs.c.id > last)))
        statement = sa.select(jobs).where(*where).order_by(jobs.c.created_at, jobs.c.id).limit(limit)
        return [job_from_row(row) for row in self.execute(statement).mappings()]

    def album_names(self, owner_id: str, image_ids: list[str]) -> dict[str, list[str]]:
        if not image_ids:
            return {}
        statement = (
            sa.select(album_images.c.image_id, albums.c.name)
            .join(albums, albums.c.id == album_images.c.album_id)
            .where(albums.c.owner_id == owner_id, album_images.c.image_id.in_(set(image_ids)))
            .order_by(albums.c.created_at, albums.c.id)
        )
        found: dict[str, list[str]] = {}
        for image_id, name in self.execute(statement):
            found.setdefault(image_id, []).append(name)
        return found

    # --- erasure ---------------------------------------------------------------------------------
    def delete_images(self, job_ids: list[str]) -> None:
        if not job_ids:
            return
        ids = sorted(set(job_ids))
        for column in (album_images.c.image_id, favorites.c.image_id, webhook_subscriptions.c.job_id):
            self.execute(sa.delete(column.table).where(column.in_(ids)))
        self.execute(sa.delete(jobs).where(jobs.c.id.in_(ids)))

    def erase_rows(self, user_id: str, limit: int) -> int:
        for table, where in self._owned(user_id):
            deleted = self._delete_some(table, where, limit)
            if deleted:
                return deleted
        return 0

    def _owned(self, user_id: str) -> list[tuple[sa.Table, sa.ColumnElement[bool]]]:
        """Every table's rows naming the user, in an order that deletes what refers to a row
        before the row."""
        own_albums = sa.select(albums.c.id).where(albums.c.owner_id == user_id)
        own_deliveries = sa.select(webhook_deliveries.c.id).where(webhook_deliveries.c.user_id == user_id)
        own_events = outbox.c.payload["user_id"].as_string() == user_id
        key = rate_limit_logs.c.key
        return [
            (album_images, album_images.c.album_id.in_(own_albums)),
            (albums, albums.c.owner_id == user_id),
            (favorites, favorites.c.user_id == user_id),
            (idempotency_keys, idempotency_keys.c.user_id == user_id),
            (presets, presets.c.owner_id == user_id),
            (service_keys, service_keys.c.user_id == user_id),
            (webhook_attempts, webhook_attempts.c.delivery_id.in_(own_deliveries)),
            (webhook_deliveries, webhook_deliveries.c.user_id == user_id),
            (webhook_endpoints, webhook_endpoints.c.user_id == user_id),
            (webhook_secrets, webhook_secrets.c.user_id == user_id),
            # `<purpose>:<user>`, as application/limits.py names them
            (rate_limit_logs, sa.or_(key == user_id, key.endswith(":" + user_id, autoescape=True))),
            (queue_users, queue_users.c.user_id == user_id),
            (queue_waiting, queue_waiting.c.user_id == user_id),  # 0 by now: their jobs were cancelled
            (webhook_routing, webhook_routing.c.event_id.in_(sa.select(outbox.c.event_id).where(own_events))),
            (outbox, own_events),
        ]

    def _chosen(self, table: sa.Table, where: sa.ColumnElement[bool], limit: int) -> sa.ColumnElement[bool]:
        key = list(table.primary_key.columns)
        chosen = sa.select(*key).where(where).limit(limit)
        return key[0].in_(chosen) if len(key) == 1 else sa.tuple_(*key).in_(chosen)

    def _delete_some(self, table: sa.Table, where: sa.ColumnElement[bool], limit: int) -> int:
        return int(self.execute(sa.delete(table).where(self._chosen(table, where, limit))).rowcount)

    def pseudonymise(self, user_id: str, pseudonym: str, limit: int) -> int:
        moved = self._move_account(user_id, pseudonym)
        statement = (
            sa.select(token_ledger.c.id, token_ledger.c.reason)
            .where(token_ledger.c.user_id == user_id)
            .order_by(token_ledger.c.id)
            .limit(limit)
        )
        reason_length = _length(token_ledger.c.reason)
        rows = [
            {"row_id": row_id, "new_reason": renamed(reason, user_id, pseudonym, reason_length)}
            for row_id, reason in self.execute(statement)
        ]
        if rows:
            rename = (
                sa.update(token_ledger)
                .where(token_ledger.c.id == sa.bindparam("row_id"))
                .values(user_id=pseudonym, reason=sa.bindparam("new_reason"))
            )
            self.execute(rename, rows)
        if moved or rows:
            return moved + len(rows)
        # Its ledger is the pseudonym's now: nothing refers to the account any more.
        return int(
            self.execute(sa.delete(token_accounts).where(token_accounts.c.user_id == user_id)).rowcount
        )

    def pseudonymise_audit(self, user_id: str, pseudonym: str, after: int | None, limit: int) -> int | None:
        columns = (audit_log.c.actor, audit_log.c.target, audit_log.c.detail, audit_log.c.via)
        holds = sa.or_(*(self._contains(column, user_id) for column in columns))
        statement = sa.select(audit_log.c.id, *columns).where(holds).order_by(audit_log.c.id).limit(limit)
        if after is not None:
            statement = statement.where(audit_log.c.id > after)
        rows = list(self.execute(statement))
        if not rows:
            return None
        changes = []
        for row in rows:
            texts = dict(zip((c.name for c in columns), row[1:], strict=True))
            new = {f"new_{c.name}": renamed(texts[c.name], user_id, pseudonym, _length(c)) for c in columns}
            if any(new[f"new_{name}"] != text for name, text in texts.items()):
                changes.append({"row_id": row[0], **new})
        if changes:
            rename = (
                sa.update(audit_log)
                .where(audit_log.c.id == sa.bindparam("row_id"))
                .values({c.name: sa.bindparam(f"new_{c.name}") for c in columns})
            )
            self.execute(rename, changes)
        last: int = rows[-1][0]
        return last

    def _move_account(self, user_id: str, pseudonym: str) -> int:
        """The user's balance onto the pseudonym's account (a copy of the user's when it has
        none yet), the user's left at 0: once only, however often it is called."""
        mine = token_accounts.c.user_id == user_id
        statement = sa.select(token_accounts.c.balance).where(mine)
        if self.postgres:
            statement = statement.with_for_update()
        balance = self.execute(statement).scalar_one_or_none()
        if balance is None:
            return 0
        theirs = token_accounts.c.user_id == pseudonym
        if self.execute(sa.select(token_accounts.c.balance).where(theirs)).first() is None:
            # Every column copied, whatever columns the table has; only the id changes.
            names = [c.name for c in token_accounts.c]
            copied = [
                sa.literal(pseudonym, USER_TYPE).label(c.name) if c.name == "user_id" else c
                for c in token_accounts.c
            ]
            self.execute(sa.insert(token_accounts).from_select(names, sa.select(*copied).where(mine)))
        elif balance == 0:
            return 0
        else:
            added = {"balance": token_accounts.c.balance + balance, "version": token_accounts.c.version + 1}
            self.execute(sa.update(token_accounts).where(theirs).values(**added))
        self.execute(
            sa.update(token_accounts).where(mine).values(balance=0, version=token_accounts.c.version + 1)
        )
        return 1

    def _contains(self, column: sa.Column[Any], text: str) -> sa.ColumnElement[bool]:
        """Case-sensitive on both engines (SQLite's LIKE is not), with no wildcard to escape."""
        position = sa.func.strpos if self.postgres else sa.func.instr
        return position(column, text) > 0


USER_TYPE = sa.String(USER)
