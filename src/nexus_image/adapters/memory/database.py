"""An in-memory database with transactions: reads see committed data plus this unit's own
writes; commit applies everything at once after checking versions, like a real engine would."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType

from nexus_image.adapters.memory.account_data import MemoryAccountData
from nexus_image.adapters.memory.presets import MemoryPresets
from nexus_image.adapters.memory.queue_state import MemoryQueue, QueueState
from nexus_image.adapters.memory.repositories import (
    MemoryAccounts,
    MemoryAlbums,
    MemoryAudit,
    MemoryFavorites,
    MemoryIdempotency,
    MemoryJobs,
    MemoryOutbox,
    MemoryRateLimits,
    RateLimitHolds,
)
from nexus_image.adapters.memory.service_keys import MemoryServiceKeys
from nexus_image.adapters.memory.uploads import MemoryUploads
from nexus_image.adapters.memory.webhooks import MemoryWebhooks, WebhookState
from nexus_image.application.ports import AuditRecord
from nexus_image.domain.account import LedgerEntry, TokenAccount
from nexus_image.domain.album import Album
from nexus_image.domain.events import DomainEvent
from nexus_image.domain.job import ImageJob
from nexus_image.domain.preset import Preset
from nexus_image.domain.service_key import ServiceKey
from nexus_image.domain.upload import Upload


@dataclass
class MemoryStore:
    """The committed state. Share one between units of work (and threads)."""

    jobs: dict[str, ImageJob] = field(default_factory=dict)
    albums: dict[str, Album] = field(default_factory=dict)
    favorites: dict[tuple[str, str], datetime] = field(default_factory=dict)
    accounts: dict[str, TokenAccount] = field(default_factory=dict)
    ledger: list[LedgerEntry] = field(default_factory=list)
    idempotency: dict[tuple[str, str], tuple[str, str, datetime]] = field(default_factory=dict)
    outbox: list[tuple[int, DomainEvent, datetime | None]] = field(default_factory=list)
    audit: list[AuditRecord] = field(default_factory=list)
    rate_limits: dict[str, list[float]] = field(default_factory=dict)
    rate_limit_locks: RateLimitHolds = field(default_factory=RateLimitHolds)  # per key, pruned
    uploads: dict[str, Upload] = field(default_factory=dict)
    queue: QueueState = field(default_factory=QueueState)
    webhooks: WebhookState = field(default_factory=WebhookState)
    service_keys: dict[str, ServiceKey] = field(default_factory=dict)
    presets: dict[str, Preset] = field(default_factory=dict)
    queue_lock: threading.Lock = field(default_factory=threading.Lock)  # the queue's own lock
    lock: threading.RLock = field(default_factory=threading.RLock)

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self._open()

    def _open(self) -> None:
        self.jobs = MemoryJobs(self.store)
        self.albums = MemoryAlbums(self.store)
        self.favorites = MemoryFavorites(self.store)
        self.accounts = MemoryAccounts(self.store)
        self.idempotency = MemoryIdempotency(self.store)
        self.outbox = MemoryOutbox(self.store)
        self.audit = MemoryAudit(self.store)
        self.rate_limits = MemoryRateLimits(self.store)
        self.uploads = MemoryUploads(self.store)
        self.queue = MemoryQueue(self.store, self.jobs)
        self.webhooks = MemoryWebhooks(self.store)
        self.service_keys = MemoryServiceKeys(self.store)
        self.presets = MemoryPresets(self.store)
        self.account_data = MemoryAccountData(self.store)

    def __enter__(self) -> MemoryUnitOfWork:
        return self

    def reads_only(self) -> None:
        """Reads here are never held open: nothing to change."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    def commit(self) -> None:
        parts = (
            self.jobs,
            self.albums,
            self.accounts,
            self.favorites,
            self.idempotency,
            self.outbox,
            self.audit,
            self.rate_limits,
            self.uploads,
            self.queue,
            self.service_keys,
            self.webhooks,
            self.presets,
            self.account_data,  # last: its removals come after this unit's other writes
        )
        with self.store.lock:
            for part in parts:
                part.check()
            for part in parts:
                part.apply()
        self._end()

    def rollback(self) -> None:
        self._end()

    def _end(self) -> None:
        self.rate_limits.release()  # the keys this unit held, as a transaction's end frees rows
        self.queue.release()
        self._open()
