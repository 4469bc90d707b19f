"""Reading and managing one's images: get, list, gallery, visibility, favorites, delete."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from nexus_image.application.access import check_page, owned_job, visible, visible_job
from nexus_image.application.dto import ImageView
from nexus_image.application.errors import NotFound
from nexus_image.application.ports import (
    Clock,
    IdGenerator,
    ObjectStorage,
    Page,
    UnitOfWork,
    UnitOfWorkFactory,
)
from nexus_image.application.transactions import cancel_in, in_transaction
from nexus_image.application.views import delete_objects, image_view, job_view
from nexus_image.domain.job import ImageJob, JobStatus, RefundPolicy
from nexus_image.domain.queue import (
    DURATION_SAMPLE,
    TierPolicy,
    WaitingUser,
    dispatch_rank,
    estimate_wait,
    mean_generation_seconds,
)

RECENT = timedelta(hours=1)  # generation times older than this say little about the queue now
BUSY = timedelta(minutes=2)  # a worker that completed a job this recently is still at work
ROTATION_CACHED_FROM = 500  # waiting users: past this many, a place reads them every few seconds
UNMEASURED = timedelta(seconds=1)  # how long "no generation time measured yet" is believed


@dataclass(slots=True)
class ImageQueries:
    """An image is visible to its owner, and to anyone once it is public and completed; what
    the caller cannot see answers like a missing image, in reads, listings and counts."""

    uow_factory: UnitOfWorkFactory
    storage: ObjectStorage
    clock: Clock
    estimates_ttl: timedelta = timedelta(seconds=5)
    policy: TierPolicy = field(default_factory=TierPolicy)
    rotations_ttl: timedelta = timedelta(seconds=2)
    _estimates: tuple[datetime, float | None, int] | None = field(default=None, init=False, repr=False)
    # Any: the HTTP layer's signature check reads these annotations, and knows no lock type
    _refreshing: Any = field(default_factory=threading.Lock, init=False, repr=False)
    _waiting: tuple[datetime, dict[str, list[WaitingUser]]] | None = field(
        default=None, init=False, repr=False
    )

    def get(self, user_id: str | None, job_id: str) -> ImageView:
        """With `queue_position` and `eta_seconds` while the job is QUEUED."""
        with self.uow_factory() as uow:
            uow.reads_only()  # a COMPLETED image: one round trip; a QUEUED one: two
            if user_id is None:
                job, favorite = visible_job(uow, job_id, None), False
            else:  # the job and the caller's favorite flag in one read
                found, favorite = uow.jobs.get_with_favorite(job_id, user_id)
                job = visible(found, job_id, user_id)
            view = image_view(self.storage, job, favorite, self.policy)
            if job.status is JobStatus.QUEUED:
                view = self._with_place(uow, job, view)
        return view

    def queue_status(self, user_id: str, job_id: str) -> tuple[int | None, int | None]:
        """(queue_position, eta_seconds) of one of the caller's jobs; (None, None) once started."""
        view = self.get(user_id, job_id)
        return view.queue_position, view.eta_seconds

    def live_state(self, user_id: str, since: datetime, limit: int = 100) -> list[ImageView]:
        """The caller's jobs a reconnecting watcher may have missed news of: every unfinished
        one, and those finished since `since`; oldest first."""
        with self.uow_factory() as uow:
            found = uow.jobs.list_by_user(user_id, 0, limit).items
            wanted = [
                j
                for j in found
                if not j.status.is_terminal or (j.completed_at is not None and j.completed_at >= since)
            ]
            views = [
                self._with_place(uow, j, image_view(self.storage, j, tiers=self.policy))
                if j.status is JobStatus.QUEUED
                else image_view(self.storage, j, tiers=self.policy)
                for j in reversed(wanted)
            ]
        return views

    def _with_place(self, uow: UnitOfWork, job: ImageJob, view: ImageView) -> ImageView:
        position = self._position(uow, job)
        mean, workers = self._generation_estimates(uow)
        return replace(view, queue_position=position, eta_seconds=estimate_wait(position, workers, mean))

    def _position(self, uow: UnitOfWork, job: ImageJob) -> int:
        """Its place in the policy's order (see domain.queue.dispatch_rank): 1 once dispatched
        (a worker takes it next); else the jobs dispatched and not started, plus the dispatches
        before its own. The jobs dispatched, the tiers' clock and its rank among its owner's
        jobs are read at one instant; the other waiting users' counts too, unless they are many
        (a deep queue: see `_rotations`), when a place can lag `rotations_ttl` behind the other
        users' changes, never behind its owner's."""
        if job.dispatched_at is not None:
            return 1
        kept = self._kept_rotations(job.user_id)
        shape = uow.queue.shape(job, with_rotations=kept is None)
        if shape.nth == 0:  # dispatched (or started) since it was read: next
            return 1
        rotations = kept if kept is not None else self._keep(shape.rotations)
        tier = next(
            (t for t, users in rotations.items() if any(u.user_id == job.user_id for u in users)), None
        )
        if tier is None:
            return 1
        rank = dispatch_rank(tier, job.user_id, shape.nth, rotations, shape.clock, self.policy.weights())
        return shape.dispatched + rank

    def _kept_rotations(self, owner: str) -> dict[str, list[WaitingUser]] | None:
        """The waiting users per tier as last read, if they were many (more than
        `ROTATION_CACHED_FROM`: a deep queue) and have `owner` among them (else they joined
        since); None: read them with the place (a place then counts down one by one). Older
        than `rotations_ttl`, they are still used while a thread reads them again (no request
        waits for thousands of rows); older than twice that, not used."""
        kept = self._waiting
        if kept is None or not any(u.user_id == owner for us in kept[1].values() for u in us):
            return None
        age = self.clock.now() - kept[0]
        if age >= 2 * self.rotations_ttl:
            return None
        if age >= self.rotations_ttl:
            self._refresh_rotations()
        return kept[1]

    def _refresh_rotations(self) -> None:
        if not self._refreshing.acquire(blocking=False):
            return  # one read at a time

        def read() -> None:
            try:
                with self.uow_factory() as uow:
                    uow.reads_only()
                    self._keep(uow.queue.waiting())
            except Exception:  # the next place reads them itself
                self._waiting = None
            finally:
                self._refreshing.release()

        threading.Thread(target=read, name="queue-rotations", daemon=True).start()

    def _keep(self, rotations: dict[str, list[WaitingUser]]) -> dict[str, list[WaitingUser]]:
        many = sum(len(users) for users in rotations.values()) > ROTATION_CACHED_FROM
        self._waiting = (self.clock.now(), rotations) if many else None
        return rotations

    def _generation_estimates(self, uow: UnitOfWork) -> tuple[float | None, int]:
        """(mean generation seconds, workers at work), over the last minutes; kept a few
        seconds, so polling clients cost one count query each, not three."""
        now = self.clock.now()
        cached = self._estimates
        if cached is not None and now - cached[0] < self.estimates_ttl:
            return cached[1], cached[2]
        recent = uow.jobs.recent_completions(now - RECENT, DURATION_SAMPLE)
        mean = mean_generation_seconds((j.started_at, j.completed_at) for j in recent)
        lately = {
            j.worker_id for j in recent if j.completed_at and j.completed_at >= now - BUSY and j.worker_id
        }
        workers = max(1, uow.jobs.active_workers(now), len(lately))
        # Nothing measured yet: kept a second at most, so the first ETA shows soon after it can.
        kept = self.estimates_ttl if mean is not None else min(UNMEASURED, self.estimates_ttl)
        self._estimates = (now - self.estimates_ttl + kept, mean, workers)
        return mean, workers

    def content(self, user_id: str | None, job_id: str, thumbnail: bool = False) -> tuple[bytes, str]:
        """The stored bytes and content type of the image or its thumbnail."""
        with self.uow_factory() as uow:
            job = visible_job(uow, job_id, user_id)
        job.ensure_data_kept()  # retention removed its files: 410 Gone, not 404
        key = job.thumbnail_key if thumbnail else job.image_key
        if job.status is not JobStatus.COMPLETED or key is None:
            raise NotFound("image file", job_id)
        content_type = "image/png" if key.endswith(".png") else "image/" + key.rsplit(".", 1)[-1]
        return self.storage.get(key), content_type

    def list_mine(self, user_id: str, page: int = 0, size: int = 20) -> Page[ImageView]:
        check_page(page, size)
        with self.uow_factory() as uow:
            found = uow.jobs.list_by_user(user_id, page, size)
            favorites = {j.id for j in found.items if uow.favorites.contains(user_id, j.id)}
        items = [image_view(self.storage, j, j.id in favorites, self.policy) for j in found.items]
        return Page(items, found.total, page, size)

    def gallery(self, page: int = 0, size: int = 20) -> Page[ImageView]:
        check_page(page, size)
        with self.uow_factory() as uow:
            found = uow.jobs.list_public(page, size)
        views = [image_view(self.storage, j, tiers=self.policy) for j in found.items]
        return Page(views, found.total, page, size)

    def favorites(self, user_id: str, page: int = 0, size: int = 20) -> Page[ImageView]:
        check_page(page, size)
        with self.uow_factory() as uow:
            ids = uow.favorites.list_ids(user_id, page, size)
            jobs = {j.id: j for j in uow.jobs.list_by_ids(ids.items)}
        # The store lists and counts only what the user may see; checked again here in case the
        # image changed between the two reads.
        visible = [jobs[i] for i in ids.items if i in jobs and jobs[i].is_visible_to(user_id)]
        return Page([image_view(self.storage, j, True, self.policy) for j in visible], ids.total, page, size)


@dataclass(slots=True)
class ManageImages:
    """Owners change visibility and delete; anyone may favorite what they can see."""

    uow_factory: UnitOfWorkFactory
    storage: ObjectStorage
    clock: Clock
    ids: IdGenerator
    refund_policy: RefundPolicy = RefundPolicy.FULL  # a running job deleted is a cancel
    tiers: TierPolicy = field(default_factory=TierPolicy)  # for the views' `expires_at`

    def set_visibility(self, user_id: str, job_id: str, public: bool) -> ImageView:
        def work(uow: UnitOfWork) -> ImageJob:
            job = owned_job(uow, job_id, user_id)
            job.set_visibility(public)
            uow.jobs.save(job)
            return job

        return job_view(in_transaction(self.uow_factory, work), self.tiers)

    def favorite(self, user_id: str, job_id: str, on: bool = True) -> None:
        def work(uow: UnitOfWork) -> None:
            # Both ways answer as for any image the caller cannot see, even one they had
            # favorited before its owner made it private: never confirm it exists.
            job = visible_job(uow, job_id, user_id)
            if on:
                job.ensure_data_kept()  # its files are gone: nothing left to keep
                uow.favorites.add(user_id, job_id, self.clock.now())
            else:
                uow.favorites.remove(user_id, job_id)

        in_transaction(self.uow_factory, work)

    def delete(self, user_id: str, job_id: str) -> None:
        """A running job is cancelled (and refunded) first; its stored files go with it."""

        def work(uow: UnitOfWork) -> ImageJob:
            job = owned_job(uow, job_id, user_id)
            if not job.status.is_terminal:
                cancel_in(uow, job, self.clock, self.ids, self.refund_policy)
            uow.favorites.remove_image_everywhere(job_id)
            uow.albums.remove_image_everywhere(job_id)
            uow.jobs.delete(job_id)
            return job

        job = in_transaction(self.uow_factory, work)
        delete_objects(self.storage, [job.image_key, job.thumbnail_key])
