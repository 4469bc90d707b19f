"""Where use cases find and keep jobs, albums, favorites, accounts, idempotency keys and uploads."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from nexus_image.domain.account import LedgerEntry, TokenAccount
from nexus_image.domain.album import Album
from nexus_image.domain.job import ImageJob, JobStatus
from nexus_image.domain.retention import ExpirySelection
from nexus_image.domain.search import SearchPage, SearchQuery
from nexus_image.domain.upload import Upload

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int


class JobRepository(Protocol):
    def add(self, job: ImageJob) -> None: ...
    def get(self, job_id: str) -> ImageJob | None: ...
    def get_with_favorite(self, job_id: str, user_id: str) -> tuple[ImageJob | None, bool]:
        """The job and whether `user_id` has it among their favorites, in one read."""

    def save(self, job: ImageJob) -> None:
        """Persist changes; raises ConcurrentUpdate if the job changed since it was read."""

    def delete(self, job_id: str) -> None: ...
    def list_by_user(self, user_id: str, page: int, size: int) -> Page[ImageJob]:
        """The user's jobs, newest first."""

    def list_public(self, page: int, size: int) -> Page[ImageJob]:
        """Public COMPLETED jobs, most recently completed first."""

    def search(self, owner: str | None, query: SearchQuery) -> SearchPage:
        """The page of `query` after `query.after`, in its order (see domain.search for what
        matches): `owner`'s own images (the favorite and album filters are theirs), or with
        no owner the public COMPLETED ones, ordered by completion."""

    def list_by_ids(self, job_ids: list[str]) -> list[ImageJob]: ...
    def in_group(self, group_id: str) -> list[ImageJob]:
        """The jobs of one request for several images, oldest first (ties by id)."""

    def failed_before(self, cutoff: datetime, limit: int) -> list[ImageJob]: ...
    def lease_expired(self, now: datetime, limit: int) -> list[ImageJob]:
        """PROCESSING jobs whose lease ended by `now` (or that have none), oldest first."""

    def next_lease_expiry(self) -> datetime | None:
        """The earliest lease of a PROCESSING job: when recovery has something to look at."""

    def queued_before(self, created_before: datetime, limit: int) -> list[ImageJob]:
        """QUEUED jobs created before `created_before`, oldest first."""

    def count_by_status(self, statuses: Collection[JobStatus] | None = None) -> dict[str, int]:
        """Jobs per status (every status, 0 included); with `statuses`, only those (each one an
        index range in SQL: finished jobs, the many, are not counted)."""

    def recent_completions(self, since: datetime, limit: int) -> list[ImageJob]:
        """COMPLETED jobs completed at or after `since`, most recent first."""

    def active_workers(self, now: datetime) -> int:
        """Distinct workers holding an unexpired lease on a running job."""

    def stored_bytes(self, user_id: str) -> int:
        """The bytes the user's images take (image and thumbnail)."""

    def active_of(self, user_id: str, limit: int) -> list[ImageJob]:
        """The user's QUEUED and PROCESSING jobs, oldest first."""

    def flagged(self, limit: int, reviewed: bool = False) -> list[ImageJob]:
        """COMPLETED images the output check flagged, not reviewed yet (or reviewed), oldest
        completion first."""

    def expiring(
        self,
        selection: ExpirySelection,
        limit: int,
        after: tuple[datetime, str] | None = None,
        among: Sequence[str] | None = None,
    ) -> list[ImageJob]:
        """Retention: the jobs `selection` covers (see `ExpirySelection.covers`), oldest first
        (created_at, then id), after the (created_at, id) `after`; only those of `among` when
        given."""

    def kept_tiers(self) -> set[str]:
        """The tiers named by jobs whose data is still kept."""

    def removal_pending(self, limit: int, after: tuple[datetime, str] | None = None) -> list[ImageJob]:
        """Jobs marked data-removed whose object keys are still set (their objects may remain),
        earliest marked first (data_removed_at, then id), after the (data_removed_at, id) `after`."""


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
        """Favorite image ids the user may still see (their own, or public and COMPLETED), most
        recently added first; `total` counts only those."""

    def remove_image_everywhere(self, image_id: str) -> None: ...


class AccountRepository(Protocol):
    def get(self, user_id: str) -> TokenAccount | None:
        """The account, locked for update where the engine supports it."""

    def add(self, account: TokenAccount) -> None: ...
    def save(self, account: TokenAccount) -> None:
        """Persist the balance and append `account.new_entries` to the ledger."""

    def entries(self, user_id: str) -> list[LedgerEntry]:
        """The user's ledger, oldest first."""

    def images_charged(self, user_id: str, since: datetime) -> int:
        """Images charged to the user at or after `since` and not refunded (what quotas count)."""

    def suspended_users(self) -> set[str]:
        """Users an operator suspended."""


class IdempotencyRepository(Protocol):
    def get(self, user_id: str, key: str) -> tuple[str, str] | None:
        """(job_id, request fingerprint) recorded for this key, if any."""

    def add(self, user_id: str, key: str, job_id: str, fingerprint: str, at: datetime) -> None: ...


class UploadRepository(Protocol):
    def add(self, upload: Upload) -> None: ...
    def get(self, upload_id: str) -> Upload | None: ...
    def list_by_ids(self, upload_ids: Collection[str]) -> list[Upload]:
        """Those that exist, in no particular order."""

    def delete(self, upload_id: str) -> None: ...
    def list_by_user(self, user_id: str, limit: int) -> list[Upload]:
        """Newest first."""

    def usage(self, user_id: str) -> tuple[int, int]:
        """How many uploads the user keeps, and their bytes."""
