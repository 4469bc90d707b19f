"""One user's data in memory, for export and erasure: reads of the committed state, and
removals and renamings staged as operations on the store, applied at commit. Each row staged
in this unit is remembered, so a second call before the commit takes the next rows, as SQL
reads its own writes."""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, MutableMapping
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from nexus_image.application.ports import AuditRecord, ImageCursor
from nexus_image.application.ports.audit import TARGET_LENGTH, VIA_LENGTH
from nexus_image.domain.erasure import renamed
from nexus_image.domain.job import ImageJob

if TYPE_CHECKING:
    from nexus_image.adapters.memory.database import MemoryStore

Operation = Callable[["MemoryStore"], None]
ACTOR_LENGTH = 255  # the SQL column's
REASON_LENGTH = 512


def _owned_keys(store: MemoryStore, user_id: str) -> list[tuple[str, Hashable]]:
    """(table, key) of every row naming the user that erasure deletes, in deletion order."""
    hooks = store.webhooks
    rows: list[tuple[str, Hashable]] = []
    rows += [("albums", a.id) for a in store.albums.values() if a.owner_id == user_id]
    rows += [("favorites", k) for k in store.favorites if k[0] == user_id]
    rows += [("idempotency", k) for k in store.idempotency if k[0] == user_id]
    rows += [("presets", p.id) for p in store.presets.values() if p.owner_id == user_id]
    rows += [("service_keys", k.id) for k in store.service_keys.values() if k.user_id == user_id]
    rows += [("deliveries", d.id) for d in hooks.deliveries.values() if d.user_id == user_id]
    rows += [("endpoints", e.id) for e in hooks.endpoints.values() if e.user_id == user_id]
    rows += [("secrets", user_id)] if user_id in hooks.secrets else []
    rows += [("rate_limits", k) for k in store.rate_limits if k == user_id or k.endswith(":" + user_id)]
    rows += [("queue", user_id)] if user_id in store.queue.users else []
    rows += [("outbox", p) for p, event, _ in store.outbox if event.user_id == user_id]
    return rows


def _tables(store: MemoryStore) -> dict[str, MutableMapping[Any, Any]]:
    hooks = store.webhooks
    return {
        "albums": store.albums,
        "favorites": store.favorites,
        "idempotency": store.idempotency,
        "presets": store.presets,
        "service_keys": store.service_keys,
        "deliveries": hooks.deliveries,
        "endpoints": hooks.endpoints,
        "secrets": hooks.secrets,
        "queue": store.queue.users,
    }


def _delete(table: str, key: Any, store: MemoryStore) -> None:
    if table == "rate_limits":
        store.rate_limits.pop(key, None)
        hold = store.rate_limit_locks.by_key.get(key)
        if hold is not None and hold.users == 0:
            del store.rate_limit_locks.by_key[key]
    elif table == "outbox":
        store.outbox[:] = [row for row in store.outbox if row[0] != key]
        store.webhooks.routed.discard(key)
    else:
        _tables(store)[table].pop(key, None)


def _audit_renamed(entry: AuditRecord, user_id: str, pseudonym: str) -> AuditRecord:
    return replace(
        entry,
        actor=renamed(entry.actor, user_id, pseudonym, ACTOR_LENGTH),
        target=renamed(entry.target, user_id, pseudonym, TARGET_LENGTH),
        detail=renamed(entry.detail, user_id, pseudonym),
        via=renamed(entry.via, user_id, pseudonym, VIA_LENGTH),
    )


def _holds(entry: AuditRecord, user_id: str) -> bool:
    return any(user_id in text for text in (entry.actor, entry.target, entry.detail, entry.via))


class MemoryAccountData:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.ops: list[Operation] = []
        self.staged: set[tuple[str, Hashable]] = set()

    def _stage(self, table: str, key: Hashable, op: Operation) -> None:
        self.staged.add((table, key))
        self.ops.append(op)

    # --- export ----------------------------------------------------------------------------------
    def images_after(self, user_id: str, after: ImageCursor | None, limit: int) -> list[ImageJob]:
        with self.store.lock:
            mine = [
                j
                for j in self.store.jobs.values()
                if j.user_id == user_id and ("jobs", j.id) not in self.staged
            ]
            mine = [j for j in mine if after is None or (j.created_at, j.id) > after]
            mine.sort(key=lambda j: (j.created_at, j.id))
            return [copy.deepcopy(j) for j in mine[:limit]]

    def album_names(self, owner_id: str, image_ids: list[str]) -> dict[str, list[str]]:
        wanted = set(image_ids)
        with self.store.lock:
            albums = sorted(
                (a for a in self.store.albums.values() if a.owner_id == owner_id),
                key=lambda a: (a.created_at, a.id),
            )
            found: dict[str, list[str]] = {}
            for album in albums:
                for image_id in album.image_ids:
                    if image_id in wanted:
                        found.setdefault(image_id, []).append(album.name)
        return found

    # --- erasure ---------------------------------------------------------------------------------
    def delete_images(self, job_ids: list[str]) -> None:
        ids = set(job_ids) - {key for table, key in self.staged if table == "jobs"}
        if not ids:
            return

        def op(store: MemoryStore) -> None:
            for job_id in ids:
                store.jobs.pop(job_id, None)
                store.webhooks.subscriptions.pop(job_id, None)
            for key in [k for k in store.favorites if k[1] in ids]:
                del store.favorites[key]
            for album in store.albums.values():
                kept = [i for i in album.image_ids if i not in ids]
                if kept != album.image_ids:
                    album.image_ids = kept
                    album.version += 1  # a unit holding the album as it was must not save it back

        self.staged.update(("jobs", job_id) for job_id in ids)
        self.ops.append(op)

    def erase_rows(self, user_id: str, limit: int) -> int:
        with self.store.lock:
            rows = [row for row in _owned_keys(self.store, user_id) if row not in self.staged]
        for table, key in rows[:limit]:
            self._stage(table, key, partial(_delete, table, key))
        return len(rows[:limit])

    def pseudonymise(self, user_id: str, pseudonym: str, limit: int) -> int:
        with self.store.lock:
            has_account = user_id in self.store.accounts
            ledger = [i for i, e in enumerate(self.store.ledger) if e.user_id == user_id]
        changed = 0
        if has_account and ("account", user_id) not in self.staged:
            self._stage("account", user_id, partial(_move_account, user_id, pseudonym))
            changed += 1
        for index in [i for i in ledger if ("ledger", i) not in self.staged][:limit]:
            self._stage("ledger", index, partial(_rename_entry, index, user_id, pseudonym))
            changed += 1
        return changed

    def pseudonymise_audit(self, user_id: str, pseudonym: str, after: int | None, limit: int) -> int | None:
        with self.store.lock:
            held = [
                i
                for i, e in enumerate(self.store.audit)
                if (after is None or i > after) and _holds(e, user_id)
            ][:limit]
            named = [
                i
                for i in held
                if _audit_renamed(self.store.audit[i], user_id, pseudonym) != self.store.audit[i]
            ]
        for index in named:
            self._stage("audit", index, partial(_rename_audit, index, user_id, pseudonym))
        return held[-1] if held else None

    def check(self) -> None:
        return None

    def apply(self) -> None:
        for op in self.ops:
            op(self.store)


def _move_account(user_id: str, pseudonym: str, store: MemoryStore) -> None:
    """The user's account becomes the pseudonym's (added to it when one exists already)."""
    account = store.accounts.pop(user_id, None)
    if account is None:
        return
    kept = store.accounts.get(pseudonym)
    if kept is None:
        store.accounts[pseudonym] = replace(account, user_id=pseudonym, version=account.version + 1)
    else:
        kept.balance += account.balance
        kept.version += 1


def _rename_entry(index: int, user_id: str, pseudonym: str, store: MemoryStore) -> None:
    entry = store.ledger[index]
    reason = renamed(entry.reason, user_id, pseudonym, REASON_LENGTH)
    store.ledger[index] = replace(entry, user_id=pseudonym, reason=reason)


def _rename_audit(index: int, user_id: str, pseudonym: str, store: MemoryStore) -> None:
    store.audit[index] = _audit_renamed(store.audit[index], user_id, pseudonym)
