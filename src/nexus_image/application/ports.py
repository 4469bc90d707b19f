"""Ports: what the use cases need from the outside world, as small Protocols."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Generic, Protocol, TypeVar

from nexus_image.domain.account import LedgerEntry, TokenAccount
from nexus_image.domain.album import Album
from nexus_image.domain.events import DomainEvent
from nexus_image.domain.job import ImageJob

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int


# --- persistence -----------------------------------------------------------------------------


class JobRepository(Protocol):
    def add(self, job: ImageJob) -> None: ...
    def get(self, job_id: str) -> ImageJob | None: ...
    def save(self, job: ImageJob) -> None:
        """Persist changes; raises ConcurrentUpdate if the job changed since it was read."""

    def delete(self, job_id: str) -> None: ...
    def list_by_user(self, user_id: str, page: int, size: int) -> Page[ImageJob]:
        """The user's jobs, newest first."""

    def list_public(self, page: int, size: int) -> Page[ImageJob]:
        """Public COMPLETED jobs, most recently completed first."""

    def list_by_ids(self, job_ids: list[str]) -> list[ImageJob]: ...
    def failed_before(self, cutoff: datetime, limit: int) -> list[ImageJob]: ...
    def stale_processing(self, started_before: datetime, limit: int) -> list[ImageJob]: ...
    def queued_before(self, created_before: datetime, limit: int) -> list[ImageJob]:
        """QUEUED jobs created before `created_before`, oldest first."""

    def count_by_status(self) -> dict[str, int]: ...


class AlbumRepository(Protocol):
    def add(self, album: Album) -> None:
        """Raises Conflict when the owner already has an album with that name."""

    def get(self, album_id: str) -> Album | None: ...
    def save(self, album: Album) -> None: ...
    def delete(self, album_id: str) -> None: ...
    def list_by_owner(self, owner_id: str) -> list[Album]:
        """Albums in creation order."""

    def remove_image_everywhere(self, image_id: str) -> None: ...


class FavoriteRepository(Protocol):
    def add(self, user_id: str, image_id: str, at: datetime) -> None:
        """Idempotent."""

    def remove(self, user_id: str, image_id: str) -> None:
        """Idempotent."""

    def contains(self, user_id: str, image_id: str) -> bool: ...
    def list_ids(self, user_id: str, page: int, size: int) -> Page[str]:
        """Favorite image ids, most recently added first."""

    def remove_image_everywhere(self, image_id: str) -> None: ...


class AccountRepository(Protocol):
    def get(self, user_id: str) -> TokenAccount | None:
        """The account, locked for update where the engine supports it."""

    def add(self, account: TokenAccount) -> None: ...
    def save(self, account: TokenAccount) -> None:
        """Persist the balance and append `account.new_entries` to the ledger."""

    def entries(self, user_id: str) -> list[LedgerEntry]:
        """The user's ledger, oldest first."""


class IdempotencyRepository(Protocol):
    def get(self, user_id: str, key: str) -> tuple[str, str] | None:
        """(job_id, request fingerprint) recorded for this key, if any."""

    def add(self, user_id: str, key: str, job_id: str, fingerprint: str, at: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    position: int
    event: DomainEvent


class Outbox(Protocol):
    def add(self, event: DomainEvent) -> None: ...
    def pending(self, limit: int) -> list[OutboxRecord]:
        """Unsent events, oldest first (claimed so that concurrent relays skip them)."""

    def mark_sent(self, positions: list[int], at: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class AuditRecord:
    actor: str
    action: str
    target: str
    outcome: str
    at: datetime
    detail: str = ""


class AuditLog(Protocol):
    def record(self, entry: AuditRecord) -> None: ...


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

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


# --- the world outside the database ----------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC."""


class IdGenerator(Protocol):
    def new_id(self) -> str: ...


class SeedSource(Protocol):
    def random_seed(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ModerationVerdict:
    allowed: bool
    category: str | None = None
    matched: str | None = None


class PromptModerator(Protocol):
    def check(self, text: str) -> ModerationVerdict: ...


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    content_type: str


class ObjectStorage(Protocol):
    def put(self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> StoredObject:
        """Raises StorageUnavailable on infrastructure failure."""

    def get(self, key: str) -> bytes:
        """Raises NotFound when absent."""

    def delete(self, key: str) -> None:
        """Idempotent."""

    def url(self, key: str, public: bool) -> str:
        """A URL a client can download from (presigned for private objects where supported)."""


@dataclass(frozen=True, slots=True)
class RenderSpec:
    """What the generator renders: prompts already styled."""

    prompt: str
    negative_prompt: str
    width: int
    height: int
    seed: int
    steps: int
    guidance: float
    scheduler: str


@dataclass(frozen=True, slots=True)
class RawImage:
    """Uncompressed 8-bit RGB pixels, row-major."""

    width: int
    height: int
    pixels: bytes


StepCallback = Callable[[int, int], bool]
"""Called after each step with (step, total); returning False stops the run (GenerationInterrupted)."""


class ImageGenerator(Protocol):
    @property
    def model_name(self) -> str: ...

    def generate(self, spec: RenderSpec, on_step: StepCallback) -> RawImage: ...


class BatchImageGenerator(ImageGenerator, Protocol):
    def generate_batch(self, specs: list[RenderSpec], on_step: StepCallback) -> list[RawImage]:
        """All specs share width, height, steps, guidance and scheduler."""


@dataclass(frozen=True, slots=True)
class EncodedImage:
    image: bytes
    image_content_type: str
    thumbnail: bytes
    thumbnail_content_type: str
    thumbnail_extension: str


class ImageEncoder(Protocol):
    def encode(self, raw: RawImage, metadata: Mapping[str, str]) -> EncodedImage:
        """A PNG carrying `metadata` as text chunks, and a small thumbnail."""


class EventPublisher(Protocol):
    def publish(self, event: DomainEvent) -> None:
        """Raises QueueUnavailable when the destination cannot take it now."""


@dataclass(frozen=True, slots=True)
class Delivery:
    job_id: str
    handle: object = None
    problem: str | None = None
    """Why this message names no runnable job (unparseable, unexpected type): the worker logs
    it and acknowledges it, so a poison message never blocks the messages behind it."""


class JobQueue(Protocol):
    """Worker side of the queue: jobs to run, acknowledged once their outcome is durable."""

    def receive(self, max_items: int, timeout: float) -> list[Delivery]: ...
    def acknowledge(self, delivery: Delivery) -> None: ...


class Metrics(Protocol):
    """Business measurements; adapters turn them into Prometheus series or drop them."""

    def generation_requested(self, style: str, resolution: str, tokens: int) -> None: ...
    def generation_finished(self, outcome: str, resolution: str, seconds: float) -> None: ...
    def storage_upload(self, seconds: float) -> None: ...
