"""One transaction over every repository."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Protocol

from nexus_image.application.ports.account_data import AccountDataRepository
from nexus_image.application.ports.audit import AuditLog
from nexus_image.application.ports.limits import RateLimitLog
from nexus_image.application.ports.outbox import Outbox
from nexus_image.application.ports.presets import PresetRepository
from nexus_image.application.ports.queue import QueueRepository
from nexus_image.application.ports.repositories import (
    AccountRepository,
    AlbumRepository,
    FavoriteRepository,
    IdempotencyRepository,
    JobRepository,
    UploadRepository,
)
from nexus_image.application.ports.service_keys import ServiceKeyRepository
from nexus_image.application.ports.webhooks import WebhookRepository


class UnitOfWork(Protocol):
    """One transaction. Nothing is kept unless `commit()` is called; leaving rolls back."""

    @property
    def jobs(self) -> JobRepository: ...
    @property
    def albums(self) -> AlbumRepository: ...
    @property
    def favorites(self) -> FavoriteRepository: ...
    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def idempotency(self) -> IdempotencyRepository: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def rate_limits(self) -> RateLimitLog: ...
    @property
    def uploads(self) -> UploadRepository: ...
    @property
    def queue(self) -> QueueRepository: ...
    @property
    def webhooks(self) -> WebhookRepository: ...
    @property
    def service_keys(self) -> ServiceKeyRepository: ...
    @property
    def presets(self) -> PresetRepository: ...
    @property
    def account_data(self) -> AccountDataRepository: ...

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def reads_only(self) -> None:
        """Said before the first statement of a unit that will not write: each read may see its
        own snapshot, and no transaction is held open around them (on PostgreSQL, one round
        trip per read instead of a BEGIN and a closing ROLLBACK besides)."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
