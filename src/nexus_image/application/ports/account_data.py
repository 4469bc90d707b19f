"""What exporting and erasing one user's data needs beyond the other repositories: their images
in an order that new ones do not shift, and every other row that names them, removed or
renamed a bounded batch at a time. Every method is idempotent, so an erasure cut short (a
crash, an outage) and run again finishes where the first run stopped."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from nexus_image.domain.job import ImageJob

ImageCursor = tuple[datetime, str]
"""(created_at, id) of the last image a reader has seen."""


class AccountDataRepository(Protocol):
    def images_after(self, user_id: str, after: ImageCursor | None, limit: int) -> list[ImageJob]:
        """The user's images, oldest first (ties by id), those after `after` only."""

    def album_names(self, owner_id: str, image_ids: list[str]) -> dict[str, list[str]]:
        """For each of these images in albums of the owner's, the names of those albums (oldest
        album first); images in none are left out."""

    def delete_images(self, job_ids: list[str]) -> None:
        """These jobs' rows, with what hangs on them: anyone's favorites of them and album
        entries for them, and their requests' webhook subscriptions."""

    def erase_rows(self, user_id: str, limit: int) -> int:
        """Delete at most `limit` of the other rows naming the user: their albums (with their
        entries), favorites, idempotency keys, presets, service keys, webhook endpoints,
        secrets, deliveries and attempts, rate-limit logs, place in the queue's rotation, and
        the outbox events about them (with their webhook routing). Returns how many went; 0
        once none is left."""

    def pseudonymise(self, user_id: str, pseudonym: str, limit: int) -> int:
        """Rename the user `pseudonym` in what is kept of theirs: their token account (its
        balance moved onto the pseudonym's account, opened as a copy of theirs, and theirs
        deleted once nothing refers to it), then at most `limit` of their ledger entries (the
        id in a reason too, as domain.erasure.renamed finds it). Returns how many rows
        changed; 0 once done."""

    def pseudonymise_audit(self, user_id: str, pseudonym: str, after: int | None, limit: int) -> int | None:
        """Rename the user `pseudonym` wherever an audit row names them (actor, target, detail
        or the key acted through; domain.erasure.names), looking at the rows after position
        `after` that hold the id at all, at most `limit` of them. Returns the position of the
        last row looked at, to go on from; None once none is left."""
