"""Worker side: run queued jobs through the generator, store the results, settle the outcome."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from nexus_image.application.dto import ProcessOutcome
from nexus_image.application.errors import (
    ConcurrentUpdate,
    DatabaseUnavailable,
    GenerationInterrupted,
    NotFound,
    QueueUnavailable,
    StorageUnavailable,
)
from nexus_image.application.ports import (
    BatchImageGenerator,
    Clock,
    EventPublisher,
    IdGenerator,
    ImageDecoder,
    ImageEncoder,
    ImageGenerator,
    ImageSafetyChecker,
    Metrics,
    ObjectStorage,
    RawImage,
    RenderSpec,
    UnitOfWork,
    UnitOfWorkFactory,
)
from nexus_image.application.storage_keys import image_key, thumbnail_key, upload_key
from nexus_image.application.transactions import in_transaction, record
from nexus_image.domain.events import DomainEvent
from nexus_image.domain.job import ImageJob, JobStatus
from nexus_image.domain.parameters import BatchKey
from nexus_image.domain.safety import OutputSafety

log = logging.getLogger(__name__)

SKIPPED = "SKIPPED"

Submit = Callable[[Callable[[], ProcessOutcome]], "Future[ProcessOutcome]"]
"""Runs a finishing step, now or on another thread: `ThreadPoolExecutor.submit` fits."""


def _done(outcome: ProcessOutcome) -> Future[ProcessOutcome]:
    future: Future[ProcessOutcome] = Future()
    future.set_result(outcome)
    return future


def _now(step: Callable[[], ProcessOutcome]) -> Future[ProcessOutcome]:
    """Finish in this thread, at once (an exception propagates, as from a direct call)."""
    return _done(step())


@dataclass(slots=True)
class ProcessJobs:
    """A QUEUED job becomes PROCESSING, is rendered, stored (image + thumbnail) and COMPLETED.
    Any failure makes it FAILED and refunds its exact cost once. A job cancelled meanwhile stops
    at the next step and nothing of it is kept. Jobs already past QUEUED are skipped, so a
    duplicate delivery is harmless."""

    uow_factory: UnitOfWorkFactory
    generator: ImageGenerator
    encoder: ImageEncoder
    storage: ObjectStorage
    clock: Clock
    ids: IdGenerator
    metrics: Metrics
    live_events: EventPublisher | None = None
    worker_id: str = "worker"
    batch_generator: BatchImageGenerator | None = None  # the generator's batch capability, if any
    lease: timedelta = timedelta(seconds=30)
    safety: ImageSafetyChecker | None = None  # the output check on every finished image
    block_unsafe: bool = False  # a flagged image fails its job (refunded) instead of staying private
    storage_retry_delays: Sequence[float] = (0.2, 0.5, 1.0)
    # Between steps: whether the jobs are still ours (cancelled, or taken over after a lost
    # lease) is read at most this often, in one query for the batch, and at the last step;
    # progress events go out at most this often per job, and always for the last step.
    ownership_every: timedelta = timedelta(seconds=1)
    progress_every: timedelta = timedelta(seconds=0.25)
    # Live previews (where the generator makes them): at most this often, small WebPs.
    previews: bool = True
    preview_every: timedelta = timedelta(seconds=0.5)
    preview_bytes: int = 8 * 1024
    sleep: Callable[[float], None] = field(default=time.sleep)
    decoder: ImageDecoder | None = None  # starting images and masks (image to image, inpainting)
    _renewed_at: datetime | None = field(default=None, init=False, repr=False)

    def execute(self, job_id: str) -> ProcessOutcome:
        return self.execute_batch([job_id])[0]

    def execute_batch(self, job_ids: Sequence[str]) -> list[ProcessOutcome]:
        """Run several jobs; those sharing a batch key go through the generator together."""
        return [future.result() for future in self.execute_batch_pipelined(job_ids, _now)]

    def execute_batch_pipelined(self, job_ids: Sequence[str], submit: Submit) -> list[Future[ProcessOutcome]]:
        """Generate now; hand each finished image's check, encoding, upload and settlement to
        `submit` (a finishing thread's), so the generator can start the next batch meanwhile.
        The futures are in the order of `job_ids`."""
        outcomes: dict[str, Future[ProcessOutcome]] = {}
        started: list[ImageJob] = []
        for job_id in job_ids:
            job_or_outcome = self._start(job_id)
            if isinstance(job_or_outcome, ProcessOutcome):
                outcomes[job_id] = _done(job_or_outcome)
            else:
                started.append(job_or_outcome)
        self._renewed_at = self.clock.now()
        groups: dict[BatchKey, list[ImageJob]] = {}
        for job in started:
            groups.setdefault(job.parameters.batch_key(), []).append(job)
        for group in groups.values():
            for job, future in zip(group, self._run_group(group, started, submit), strict=True):
                outcomes[job.id] = future
        return [outcomes[job_id] for job_id in job_ids]

    # --- phases --------------------------------------------------------------------------------

    def _start(self, job_id: str) -> ImageJob | ProcessOutcome:
        def work(uow: UnitOfWork) -> ImageJob | ProcessOutcome:
            job = uow.jobs.get(job_id)
            if job is None:
                return ProcessOutcome(job_id, SKIPPED, "unknown job")
            if job.status is not JobStatus.QUEUED:
                return ProcessOutcome(job_id, SKIPPED, f"already {job.status.value}")
            now = self.clock.now()
            started = job.start(now, self.worker_id, lease_until=now + self.lease, event_id=self.ids.new_id())
            record(uow, job, started, self.clock)
            return job

        return in_transaction(self.uow_factory, work)

    def _still_held(self, jobs: list[ImageJob]) -> list[ImageJob]:
        """The jobs of `jobs` this worker still holds, read in one query."""
        with self.uow_factory() as uow:
            current = {job.id: job for job in uow.jobs.list_by_ids([job.id for job in jobs])}
        return [job for job in jobs if job.id in current and current[job.id].is_held_by(self.worker_id)]

    def _keep_leases(self, held: list[ImageJob]) -> None:
        """Renew the leases of every job this batch holds, a third of a lease after the last
        renewal: one write per batch every few seconds, never one per step."""
        now = self.clock.now()
        if self._renewed_at is not None and now - self._renewed_at < self.lease / 3:
            return
        self._renewed_at = now

        def work(uow: UnitOfWork) -> None:
            for job in held:
                current = uow.jobs.get(job.id)
                if current is not None and current.renew_lease(self.worker_id, now + self.lease):
                    uow.jobs.save(current)

        try:
            in_transaction(self.uow_factory, work)
        except (DatabaseUnavailable, ConcurrentUpdate):
            self._renewed_at = None  # try again at the next step; the lease has time left

    def _progress_callback(self, jobs: list[ImageJob], held: list[ImageJob]) -> _StepWatch:
        """Between steps: keep the leases, stop when no job of the group is ours any more, and
        tell watchers how far it got (with a preview now and then), all without a query or an
        event per step."""
        return _StepWatch(self, jobs, held)

    def _publish_live(self, event: DomainEvent) -> None:
        if self.live_events is None:
            return
        try:
            self.live_events.publish(event)
        except QueueUnavailable:
            pass  # progress is advisory; the outcome travels through the outbox

    def _run_group(
        self, jobs: list[ImageJob], held: list[ImageJob], submit: Submit
    ) -> list[Future[ProcessOutcome]]:
        began = time.perf_counter()
        outcomes: dict[str, Future[ProcessOutcome]] = {}
        specs: list[RenderSpec] = []
        for job in jobs:
            try:
                specs.append(self._spec(job))
            except Exception as error:  # its starting image is gone or unreadable: it alone fails
                reason = f"reading the starting image failed: {type(error).__name__}: {error}"
                outcomes[job.id] = _done(self._fail(job, reason, began))
        if outcomes:
            ready = [job for job in jobs if job.id not in outcomes]
            rendered = self._render(ready, specs, held, submit, began) if ready else []
            outcomes.update(zip([job.id for job in ready], rendered, strict=True))
            return [outcomes[job.id] for job in jobs]
        return self._render(jobs, specs, held, submit, began)

    def _spec(self, job: ImageJob) -> RenderSpec:
        """What the generator renders for `job`: with a starting image (and mask), read from
        storage and decoded at the job's size."""
        p = job.parameters
        if p.init_image_id is None:
            return RenderSpec.of(p)
        if self.decoder is None:
            raise NotFound("image decoder", "for starting images on this worker")
        decoder = self.decoder

        def picture(upload_id: str) -> RawImage:
            return decoder.decode(self._get(upload_key(job.user_id, upload_id)), p.width, p.height)

        mask = picture(p.mask_image_id) if p.mask_image_id is not None else None
        return RenderSpec.of(p, picture(p.init_image_id), mask)

    def _render(
        self,
        jobs: list[ImageJob],
        specs: list[RenderSpec],
        held: list[ImageJob],
        submit: Submit,
        began: float,
    ) -> list[Future[ProcessOutcome]]:
        on_step = self._progress_callback(jobs, held)
        try:
            if len(jobs) > 1 and self.batch_generator is not None:
                images: list[RawImage] = self.batch_generator.generate_batch(specs, on_step)
            else:
                images = []
                for index, spec in enumerate(specs):
                    on_step.rendering = [index]
                    images.append(self.generator.generate(spec, on_step))
        except GenerationInterrupted:
            return [_done(self._abandoned(job)) for job in jobs]
        except Exception as error:  # any generator failure fails the jobs, with a refund
            reason = f"generation failed: {type(error).__name__}: {error}"
            return [_done(self._fail(job, reason, began)) for job in jobs]
        return [
            submit(partial(self._finish, job, image, began)) for job, image in zip(jobs, images, strict=True)
        ]

    def _metadata(self, job: ImageJob) -> dict[str, str]:
        prompt, negative = job.parameters.styled_prompts()
        params = job.parameters.to_dict()
        meta = {k: json.dumps(v) if isinstance(v, list) else str(v) for k, v in params.items()}
        meta.update(
            job_id=job.id,
            model=self.generator.model_name,
            styled_prompt=prompt,
            styled_negative_prompt=negative,
            parameters=json.dumps({**params, "model": self.generator.model_name}, sort_keys=True),
        )
        return meta

    def _get(self, key: str) -> bytes:
        """An object, read again after the storage's retry delays while it is unavailable."""
        delays = list(self.storage_retry_delays)
        while True:
            try:
                return self.storage.get(key)
            except StorageUnavailable:
                if not delays:
                    raise
                self.sleep(delays.pop(0))

    def _put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None:
        delays = list(self.storage_retry_delays)
        while True:
            began = time.perf_counter()
            try:
                self.storage.put(key, data, content_type, metadata)
                self.metrics.storage_upload(time.perf_counter() - began)
                return
            except StorageUnavailable:
                if not delays:
                    raise
                self.sleep(delays.pop(0))

    def _check(self, raw: RawImage) -> OutputSafety | None:
        if self.safety is None:
            return None
        verdict = self.safety.check(raw)
        safety = OutputSafety(
            not verdict.safe, min(max(verdict.score, 0.0), 1.0), verdict.labels, verdict.checker
        )
        self.metrics.image_checked(safety.checker, safety.flagged, safety.score)
        return safety

    def _finish(self, job: ImageJob, raw: RawImage, began: float) -> ProcessOutcome:
        key = image_key(job.user_id, job.id)
        thumb = key
        try:
            safety = self._check(raw)
        except Exception as error:  # a broken checker must not let an unchecked image through
            return self._fail(job, f"output check failed: {type(error).__name__}: {error}", began)
        if safety is not None and safety.flagged and self.block_unsafe:
            return self._fail(job, safety.reason, began)  # nothing of it is stored
        try:
            encoded = self.encoder.encode(raw, self._metadata(job))
            thumb = thumbnail_key(job.user_id, job.id, encoded.thumbnail_extension)
            object_meta = {"job-id": job.id, "user-id": job.user_id, "seed": str(job.parameters.seed)}
            self._put(key, encoded.image, encoded.image_content_type, object_meta)
            self._put(thumb, encoded.thumbnail, encoded.thumbnail_content_type, object_meta)
        except Exception as error:
            self._discard_objects(key, thumb)
            return self._fail(job, f"storing the image failed: {type(error).__name__}: {error}", began)

        def work(uow: UnitOfWork) -> ProcessOutcome:
            current = uow.jobs.get(job.id)
            if current is None or not current.is_held_by(self.worker_id):
                return ProcessOutcome(job.id, current.status.value if current else SKIPPED, "no longer ours")
            completed = current.complete(
                self.clock.now(),
                key,
                thumb,
                duration_seconds=time.perf_counter() - began,
                safety=safety,
                event_id=self.ids.new_id(),
            )
            record(uow, current, completed, self.clock)
            return ProcessOutcome(job.id, JobStatus.COMPLETED.value)

        outcome = in_transaction(self.uow_factory, work)
        if outcome.status != JobStatus.COMPLETED.value:
            self._discard_objects(key, thumb)
        else:
            self.metrics.generation_finished(
                "completed", job.parameters.resolution.value, time.perf_counter() - began
            )
        return outcome

    def _discard_objects(self, *keys: str) -> None:
        for key in dict.fromkeys(keys):
            try:
                self.storage.delete(key)
            except (StorageUnavailable, NotFound):
                pass  # the cleanup of failed jobs removes leftovers later

    def _abandoned(self, job: ImageJob) -> ProcessOutcome:
        with self.uow_factory() as uow:
            current = uow.jobs.get(job.id)
        status = current.status.value if current else SKIPPED
        self.metrics.generation_finished("cancelled", job.parameters.resolution.value, 0.0)
        return ProcessOutcome(job.id, status, "stopped between steps")

    def _fail(self, job: ImageJob, reason: str, began: float) -> ProcessOutcome:
        """FAILED with an exact refund, if the job is still ours; one settled elsewhere (by a
        cancel, or by recovery after our lease ended) is left alone."""

        def work(uow: UnitOfWork) -> ProcessOutcome:
            current = uow.jobs.get(job.id)
            if current is None or not current.is_held_by(self.worker_id):
                status = current.status.value if current else SKIPPED
                return ProcessOutcome(job.id, status, "already settled elsewhere")
            record(
                uow, current, current.fail(self.clock.now(), reason, event_id=self.ids.new_id()), self.clock
            )
            return ProcessOutcome(job.id, JobStatus.FAILED.value, reason)

        outcome = in_transaction(self.uow_factory, work)
        if outcome.status == JobStatus.FAILED.value:
            self.metrics.generation_finished(
                "failed", job.parameters.resolution.value, time.perf_counter() - began
            )
        return outcome


class _StepWatch:
    """The step callback of one group of jobs (a PreviewingStepCallback). `rendering` says which
    of the jobs the generator's images are, in order (all of them for a batch)."""

    def __init__(self, owner: ProcessJobs, jobs: list[ImageJob], held: list[ImageJob]) -> None:
        self.owner = owner
        self.jobs = list(jobs)
        self.held = held
        self.active = list(jobs)
        self.rendering = list(range(len(jobs)))
        self.checked = self.published = self.previewed = owner.clock.now()  # `processing` is out

    def __call__(self, step: int, total: int) -> bool:
        owner = self.owner
        owner._keep_leases(self.held)
        now = owner.clock.now()
        last = step >= total
        if last or now - self.checked >= owner.ownership_every:
            self.active, self.checked = owner._still_held(self.active), now
        if self.active and (last or step == 1 or now - self.published >= owner.progress_every):
            self.published = now
            for job in self.active:
                owner._publish_live(job.progress(step, total, now, event_id=owner.ids.new_id()))
        return bool(self.active)

    def wants_preview(self, step: int, total: int) -> bool:
        owner = self.owner
        if not owner.previews or owner.live_events is None or not self.active or step >= total:
            return False
        return owner.clock.now() - self.previewed >= owner.preview_every

    def preview(self, step: int, total: int, images: list[RawImage]) -> None:
        owner = self.owner
        now = self.previewed = owner.clock.now()
        active = {job.id for job in self.active}
        for index, raw in zip(self.rendering, images, strict=False):
            job = self.jobs[index]
            if job.id not in active:
                continue
            try:
                data = owner.encoder.preview(raw, owner.preview_bytes)
            except Exception:  # a preview is a nicety: never a reason to stop a generation
                log.warning("preview not encoded for job %s", job.id, exc_info=True)
                continue
            encoded = base64.b64encode(data).decode("ascii")
            owner._publish_live(job.progress(step, total, now, event_id=owner.ids.new_id(), preview=encoded))
