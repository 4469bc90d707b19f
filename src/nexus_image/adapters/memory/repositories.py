"""In-memory repositories: staged writes over a shared MemoryStore, checked and applied at commit."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Generic, TypeVar

from nexus_image.adapters.memory.search import search_jobs
from nexus_image.application.errors import ConcurrentUpdate, Conflict
from nexus_image.application.ports import AuditRecord, OutboxRecord, Page
from nexus_image.domain.account import EntryKind, LedgerEntry, TokenAccount
from nexus_image.domain.album import Album
from nexus_image.domain.events import DomainEvent
from nexus_image.domain.job import ImageJob, JobStatus
from nexus_image.domain.preset import Preset
from nexus_image.domain.retention import ExpirySelection
from nexus_image.domain.search import SearchPage, SearchQuery
from nexus_image.domain.webhooks import WebhookEvent

if TYPE_CHECKING:
    from nexus_image.adapters.memory.database import MemoryStore


E = TypeVar("E", ImageJob, Album, Preset)


def _page(items: list[E], page: int, size: int) -> Page[E]:
    return Page(items[page * size : (page + 1) * size], len(items), page, size)


class _Entities(Generic[E]):
    """Entities with optimistic versions: saving one that changed meanwhile is ConcurrentUpdate."""

    def __init__(self, store: MemoryStore, table: dict[str, E]) -> None:
        self.store = store
        self.table: dict[str, E] = table
        self.writes: dict[str, E | None] = {}
        self.added: set[str] = set()

    def get(self, key: str) -> E | None:
        if key in self.writes:
            return self.writes[key]
        with self.store.lock:
            found = self.table.get(key)
            return copy.deepcopy(found) if found is not None else None

    def _add(self, entity: E) -> None:
        if entity.id in self.table or entity.id in self.added:
            raise Conflict(f"{entity.id} already exists")
        self.writes[entity.id] = copy.deepcopy(entity)
        self.added.add(entity.id)

    def save(self, entity: E) -> None:
        self.writes[entity.id] = copy.deepcopy(entity)

    def delete(self, key: str) -> None:
        self.writes[key] = None

    def merged(self) -> list[E]:
        with self.store.lock:
            view = {k: copy.deepcopy(v) for k, v in self.table.items()}
        for key, value in self.writes.items():
            if value is None:
                view.pop(key, None)
            else:
                view[key] = value
        return list(view.values())

    def check(self) -> None:
        for key, value in self.writes.items():
            current = self.table.get(key)
            if key in self.added:
                if current is not None:
                    raise ConcurrentUpdate(f"{key} was created concurrently")
            elif current is None:
                if value is not None:
                    raise ConcurrentUpdate(f"{key} was deleted concurrently")
            elif value is not None and current.version != value.version:
                raise ConcurrentUpdate(f"{key} changed since it was read")

    def apply(self) -> None:
        for key, value in self.writes.items():
            if value is None:
                self.table.pop(key, None)
            else:
                stored = copy.deepcopy(value)
                stored.version = value.version + (0 if key in self.added else 1)
                self.table[key] = stored


class MemoryJobs(_Entities[ImageJob]):
    def __init__(self, store: MemoryStore) -> None:
        super().__init__(store, store.jobs)

    def add(self, job: ImageJob) -> None:
        self._add(job)

    def get_with_favorite(self, job_id: str, user_id: str) -> tuple[ImageJob | None, bool]:
        job = self.get(job_id)
        with self.store.lock:
            liked = job is not None and (user_id, job_id) in self.store.favorites
        return job, liked

    def list_by_user(self, user_id: str, page: int, size: int) -> Page[ImageJob]:
        mine = [j for j in self.merged() if j.user_id == user_id and not j.data_removed]
        mine.sort(key=lambda j: (j.created_at, j.id), reverse=True)
        return _page(mine, page, size)

    def list_public(self, page: int, size: int) -> Page[ImageJob]:
        public = [
            j for j in self.merged() if j.is_public and j.status is JobStatus.COMPLETED and not j.data_removed
        ]
        public.sort(key=lambda j: (j.completed_at or j.created_at, j.id), reverse=True)
        return _page(public, page, size)

    def search(self, owner: str | None, query: SearchQuery) -> SearchPage:
        favorites: set[str] = set()
        album: set[str] | None = None
        if owner is not None:
            with self.store.lock:
                favorites = {i for (u, i) in self.store.favorites if u == owner}
                held = self.store.albums.get(query.album) if query.album is not None else None
            if query.album is not None:
                album = set(held.image_ids) if held is not None and held.owner_id == owner else set()
        return search_jobs(self.merged(), owner, query, favorites, album)

    def list_by_ids(self, job_ids: list[str]) -> list[ImageJob]:
        found = [self.get(i) for i in job_ids]
        return [j for j in found if j is not None]

    def in_group(self, group_id: str) -> list[ImageJob]:
        return sorted(
            (j for j in self.merged() if j.group_id == group_id), key=lambda j: (j.created_at, j.id)
        )

    def failed_before(self, cutoff: datetime, limit: int) -> list[ImageJob]:
        return self._oldest(
            lambda j: j.status is JobStatus.FAILED and (j.completed_at or j.created_at) < cutoff, limit
        )

    def expiring(
        self,
        selection: ExpirySelection,
        limit: int,
        after: tuple[datetime, str] | None = None,
        among: Sequence[str] | None = None,
    ) -> list[ImageJob]:
        with self.store.lock:  # the protections as committed
            favorited = set(self.store.favorites)
            in_albums = {i for album in self.store.albums.values() for i in album.image_ids}
        wanted = set(among) if among is not None else None

        def due(j: ImageJob) -> bool:
            return (
                (wanted is None or j.id in wanted)
                and (after is None or (j.created_at, j.id) > after)
                and selection.covers(j, (j.user_id, j.id) in favorited, j.id in in_albums)
            )

        return self._oldest(due, limit)

    def kept_tiers(self) -> set[str]:
        return {j.tier for j in self.merged() if not j.data_removed}

    def removal_pending(self, limit: int, after: tuple[datetime, str] | None = None) -> list[ImageJob]:
        pending = [
            (j.data_removed_at, j.id, j)
            for j in self.merged()
            if j.data_removed_at is not None and (j.image_key or j.thumbnail_key)
        ]
        pending.sort(key=lambda found: (found[0], found[1]))
        return [j for at, i, j in pending if after is None or (at, i) > after][:limit]

    def lease_expired(self, now: datetime, limit: int) -> list[ImageJob]:
        return self._oldest(lambda j: j.lease_expired(now), limit)

    def next_lease_expiry(self) -> datetime | None:
        leases = [
            j.lease_expires_at
            for j in self.merged()
            if j.status is JobStatus.PROCESSING and j.lease_expires_at is not None
        ]
        return min(leases, default=None)

    def queued_before(self, created_before: datetime, limit: int) -> list[ImageJob]:
        return self._oldest(lambda j: j.status is JobStatus.QUEUED and j.created_at < created_before, limit)

    def _oldest(self, keep: Callable[[ImageJob], bool], limit: int) -> list[ImageJob]:
        return sorted((j for j in self.merged() if keep(j)), key=lambda j: (j.created_at, j.id))[:limit]

    def recent_completions(self, since: datetime, limit: int) -> list[ImageJob]:
        done = [
            j
            for j in self.merged()
            if j.status is JobStatus.COMPLETED and j.completed_at is not None and j.completed_at >= since
        ]
        done.sort(key=lambda j: (j.completed_at, j.id), reverse=True)
        return done[:limit]

    def active_workers(self, now: datetime) -> int:
        held = {
            j.worker_id
            for j in self.merged()
            if j.status is JobStatus.PROCESSING and not j.lease_expired(now) and j.worker_id
        }
        return len(held)

    def count_by_status(self, statuses: Collection[JobStatus] | None = None) -> dict[str, int]:
        wanted = set(JobStatus if statuses is None else statuses)
        counts = {s.value: 0 for s in wanted}
        for job in self.merged():
            if job.status in wanted:
                counts[job.status.value] += 1
        return counts

    def stored_bytes(self, user_id: str) -> int:
        return sum(j.stored_bytes for j in self.merged() if j.user_id == user_id)

    def active_of(self, user_id: str, limit: int) -> list[ImageJob]:
        return self._oldest(lambda j: j.user_id == user_id and not j.status.is_terminal, limit)

    def flagged(self, limit: int, reviewed: bool = False) -> list[ImageJob]:
        found = [
            j
            for j in self.merged()
            if j.is_flagged and j.status is JobStatus.COMPLETED and (j.safety_review is not None) == reviewed
        ]
        found.sort(key=lambda j: (j.completed_at or j.created_at, j.id))
        return found[:limit]


class MemoryAlbums(_Entities[Album]):
    def __init__(self, store: MemoryStore) -> None:
        super().__init__(store, store.albums)

    def add(self, album: Album) -> None:
        self._unique_name(album)
        self._add(album)

    def save(self, album: Album) -> None:
        self._unique_name(album)
        super().save(album)

    def _unique_name(self, album: Album) -> None:
        for other in self.merged():
            if other.owner_id == album.owner_id and other.name == album.name and other.id != album.id:
                raise Conflict(f"an album named {album.name!r} already exists")

    def check(self) -> None:
        super().check()
        names = {(a.owner_id, a.name, a.id) for a in self.store.albums.values()}
        for album in (v for v in self.writes.values() if v is not None):
            if any(o == album.owner_id and n == album.name and i != album.id for o, n, i in names):
                raise Conflict(f"an album named {album.name!r} already exists")

    def list_by_owner(self, owner_id: str) -> list[Album]:
        return sorted(
            (a for a in self.merged() if a.owner_id == owner_id), key=lambda a: (a.created_at, a.id)
        )

    def remove_image_everywhere(self, image_id: str) -> None:
        for album in self.merged():
            if image_id in album.image_ids:
                album.image_ids.remove(image_id)
                super().save(album)


class MemoryFavorites:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.adds: dict[tuple[str, str], datetime] = {}
        self.removes: set[tuple[str, str]] = set()
        self.removed_images: set[str] = set()

    def _merged(self) -> dict[tuple[str, str], datetime]:
        with self.store.lock:
            view = dict(self.store.favorites)
        view = {k: v for k, v in view.items() if k not in self.removes and k[1] not in self.removed_images}
        view.update(self.adds)
        return view

    def add(self, user_id: str, image_id: str, at: datetime) -> None:
        key = (user_id, image_id)
        self.removes.discard(key)
        if key not in self._merged():
            self.adds[key] = at

    def remove(self, user_id: str, image_id: str) -> None:
        key = (user_id, image_id)
        self.adds.pop(key, None)
        self.removes.add(key)

    def contains(self, user_id: str, image_id: str) -> bool:
        return (user_id, image_id) in self._merged()

    def list_ids(self, user_id: str, page: int, size: int) -> Page[str]:
        with self.store.lock:
            seen = {
                i for i, job in self.store.jobs.items() if job.is_visible_to(user_id) and not job.data_removed
            }
        mine = sorted(
            ((at, i) for (u, i), at in self._merged().items() if u == user_id and i in seen), reverse=True
        )
        ids = [i for _, i in mine]
        return Page(ids[page * size : (page + 1) * size], len(ids), page, size)

    def remove_image_everywhere(self, image_id: str) -> None:
        self.adds = {k: v for k, v in self.adds.items() if k[1] != image_id}
        self.removed_images.add(image_id)

    def check(self) -> None:
        return None

    def apply(self) -> None:
        fav = self.store.favorites
        for key in [k for k in fav if k in self.removes or k[1] in self.removed_images]:
            del fav[key]
        for key, at in self.adds.items():
            fav.setdefault(key, at)


class MemoryAccounts:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.inner = _AccountTable(store)
        self.entries_to_add: list[LedgerEntry] = []

    def get(self, user_id: str) -> TokenAccount | None:
        return self.inner.get(user_id)

    def add(self, account: TokenAccount) -> None:
        self._take_entries(account)
        self.inner.add(account)

    def save(self, account: TokenAccount) -> None:
        self._take_entries(account)
        self.inner.save(account)

    def _take_entries(self, account: TokenAccount) -> None:
        self.entries_to_add.extend(account.new_entries)
        account.new_entries.clear()

    def entries(self, user_id: str) -> list[LedgerEntry]:
        with self.store.lock:
            committed = [e for e in self.store.ledger if e.user_id == user_id]
        return committed + [e for e in self.entries_to_add if e.user_id == user_id]

    def images_charged(self, user_id: str, since: datetime) -> int:
        entries = self.entries(user_id)
        refunded = {e.job_id for e in entries if e.kind is EntryKind.REFUND and e.job_id is not None}
        return sum(
            1
            for e in entries
            if e.kind is EntryKind.DEBIT
            and e.job_id is not None
            and e.at >= since
            and e.job_id not in refunded
        )

    def suspended_users(self) -> set[str]:
        with self.store.lock:
            committed = {u for u, a in self.store.accounts.items() if a.suspended}
        for user_id, account in self.inner.writes.items():
            (committed.add if account.suspended else committed.discard)(user_id)
        return committed

    def check(self) -> None:
        self.inner.check()

    def apply(self) -> None:
        self.inner.apply()
        self.store.ledger.extend(self.entries_to_add)


class _AccountTable:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.writes: dict[str, TokenAccount] = {}
        self.added: set[str] = set()

    def get(self, user_id: str) -> TokenAccount | None:
        if user_id in self.writes:
            return self.writes[user_id]
        with self.store.lock:
            found = self.store.accounts.get(user_id)
            return copy.deepcopy(found) if found is not None else None

    def add(self, account: TokenAccount) -> None:
        if account.user_id in self.store.accounts:
            raise ConcurrentUpdate(f"account {account.user_id} was opened concurrently")
        self.writes[account.user_id] = account
        self.added.add(account.user_id)

    def save(self, account: TokenAccount) -> None:
        self.writes[account.user_id] = account

    def check(self) -> None:
        for user_id, account in self.writes.items():
            current = self.store.accounts.get(user_id)
            if user_id in self.added:
                if current is not None:
                    raise ConcurrentUpdate(f"account {user_id} was opened concurrently")
            elif current is None or current.version != account.version:
                raise ConcurrentUpdate(f"account {user_id} changed since it was read")

    def apply(self) -> None:
        for user_id, account in self.writes.items():
            stored = copy.deepcopy(account)
            stored.new_entries = []
            if user_id not in self.added:
                stored.version += 1
            self.store.accounts[user_id] = stored


class MemoryIdempotency:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.writes: dict[tuple[str, str], tuple[str, str, datetime]] = {}

    def get(self, user_id: str, key: str) -> tuple[str, str] | None:
        found = self.writes.get((user_id, key)) or self.store.idempotency.get((user_id, key))
        return (found[0], found[1]) if found else None

    def add(self, user_id: str, key: str, job_id: str, fingerprint: str, at: datetime) -> None:
        self.writes[(user_id, key)] = (job_id, fingerprint, at)

    def check(self) -> None:
        for key in self.writes:
            if key in self.store.idempotency:
                raise ConcurrentUpdate("idempotency key used concurrently")

    def apply(self) -> None:
        self.store.idempotency.update(self.writes)


WEBHOOK_EVENTS = frozenset(e.value for e in WebhookEvent)  # the events looked at for webhooks


class MemoryOutbox:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.new: list[DomainEvent] = []
        self.sent: dict[int, datetime] = {}
        self.routed: set[int] = set()

    def add(self, event: DomainEvent) -> None:
        self.new.append(event)

    def pending(self, limit: int) -> list[OutboxRecord]:
        """Committed unsent events, less those this unit has marked sent (as SQL sees its own
        updates); events added in this unit get their position only at commit."""
        with self.store.lock:
            unsent = [
                OutboxRecord(p, e) for p, e, at in self.store.outbox if at is None and p not in self.sent
            ]
        return unsent[:limit]

    def mark_sent(self, positions: list[int], at: datetime) -> None:
        for position in positions:
            self.sent[position] = at

    def unrouted(self, limit: int) -> list[OutboxRecord]:
        with self.store.lock:
            done = self.store.webhooks.routed
            waiting = [
                OutboxRecord(p, e)
                for p, e, _ in self.store.outbox
                if e.event_type in WEBHOOK_EVENTS and p not in done and p not in self.routed
            ]
        return waiting[:limit]

    def mark_routed(self, positions: list[int], at: datetime) -> None:
        self.routed.update(positions)

    def check(self) -> None:
        return None

    def apply(self) -> None:
        outbox = self.store.outbox
        for index, (position, event, sent_at) in enumerate(outbox):
            if sent_at is None and position in self.sent:
                outbox[index] = (position, event, self.sent[position])
        start = outbox[-1][0] + 1 if outbox else 1
        outbox.extend((start + i, event, None) for i, event in enumerate(self.new))
        self.store.webhooks.routed.update(self.routed)


class MemoryAudit:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.new: list[AuditRecord] = []

    def record(self, entry: AuditRecord) -> None:
        self.new.append(entry)

    def check(self) -> None:
        return None

    def apply(self) -> None:
        self.store.audit.extend(self.new)


RATE_SWEEP_EVERY = 60.0  # seconds of hit time between looks at every key (not only a unit's own)
RATE_SWEEP_SLACK = 1.0  # seconds past its expiry before a log is forgotten, as in SQL


class KeyHold:
    """One rate-limit key: its lock, how many units hold it or wait for it, and when its
    committed log has left the window (then nothing is lost by forgetting it)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
        self.expires_at = float("inf")


class RateLimitHolds:
    """Every key's KeyHold (changed only under the store's lock), and when every key is looked
    at next for a log that left the window."""

    def __init__(self) -> None:
        self.by_key: dict[str, KeyHold] = {}
        self.next_sweep = float("-inf")


class MemoryRateLimits:
    """Reading a key's log takes that key's lock until the unit of work ends (commit or
    rollback), as a row lock would: concurrent hits of one key are decided one after another.
    When a unit ends, the keys nobody holds or waits for whose log is empty or has left the
    window are forgotten, log and lock: those the unit held, and every key at most once per
    RATE_SWEEP_EVERY seconds. A key that units are waiting for keeps its lock, so two units
    never hold one key at once."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.held: dict[str, KeyHold] = {}
        self.writes: dict[str, tuple[list[float], float]] = {}
        self.now = float("-inf")  # the latest hit time this unit decided at

    def hits(self, key: str, now: float) -> list[float]:
        self.now = max(self.now, now)
        if key not in self.held:
            with self.store.lock:
                hold = self.store.rate_limit_locks.by_key.setdefault(key, KeyHold())
                hold.users += 1  # before waiting: a lock somebody waits for is never forgotten
            hold.lock.acquire()
            self.held[key] = hold
        if key in self.writes:
            return list(self.writes[key][0])
        with self.store.lock:
            return list(self.store.rate_limits.get(key, ()))

    def keep(self, key: str, hits: list[float], expires_at: float) -> None:
        self.writes[key] = (sorted(hits), expires_at)

    def check(self) -> None:
        return None

    def apply(self) -> None:
        for key, (hits, expires_at) in self.writes.items():
            if hits:
                self.store.rate_limits[key] = hits
            else:
                self.store.rate_limits.pop(key, None)
            hold = self.held.get(key)
            if hold is not None:
                hold.expires_at = expires_at if hits else float("-inf")

    def release(self) -> None:
        for hold in self.held.values():
            hold.lock.release()
        if self.held:
            with self.store.lock:
                for hold in self.held.values():
                    hold.users -= 1
                self._forget_idle()
        self.held.clear()
        self.writes.clear()

    def _forget_idle(self) -> None:
        holds = self.store.rate_limit_locks
        keys: list[str] = list(self.held)
        if self.now >= holds.next_sweep:
            holds.next_sweep = self.now + RATE_SWEEP_EVERY
            keys = list(holds.by_key)
        for key in keys:
            hold = holds.by_key.get(key)
            if hold is None or hold.users > 0:
                continue
            if key not in self.store.rate_limits or hold.expires_at + RATE_SWEEP_SLACK <= self.now:
                self.store.rate_limits.pop(key, None)
                del holds.by_key[key]
