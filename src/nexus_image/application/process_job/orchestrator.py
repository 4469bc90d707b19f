"""The worker's use case: queued jobs through claim, render and finish."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from nexus_image.application.errors import GenerationInterrupted
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
    RenderSpec,
    UnitOfWorkFactory,
)
from nexus_image.application.ports.upscaling import Upscaler
from nexus_image.application.process_job.claim import ClaimJobs
from nexus_image.application.process_job.finish import FinishImage
from nexus_image.application.process_job.render import Pacing, RenderBatch, batches
from nexus_image.application.process_job.retry import StorageRetry
from nexus_image.application.process_outcome import ProcessOutcome
from nexus_image.domain.job import ImageJob

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
    """A QUEUED job becomes PROCESSING (`claim`), is rendered with the jobs it can share a run
    with (`render`), then stored and COMPLETED (`finish`). Any failure makes it FAILED and
    refunds its exact cost once; a job cancelled meanwhile stops at the next step and nothing of
    it is kept; a job already past QUEUED is skipped."""

    claim: ClaimJobs
    render: RenderBatch
    finish: FinishImage

    @classmethod
    def build(
        cls,
        *,
        uow_factory: UnitOfWorkFactory,
        generator: ImageGenerator,
        encoder: ImageEncoder,
        storage: ObjectStorage,
        clock: Clock,
        ids: IdGenerator,
        metrics: Metrics,
        live_events: EventPublisher | None = None,
        worker_id: str = "worker",
        batch_generator: BatchImageGenerator | None = None,
        lease: timedelta = timedelta(seconds=30),
        safety: ImageSafetyChecker | None = None,
        block_unsafe: bool = False,
        storage_retry_delays: Sequence[float] = (0.2, 0.5, 1.0),
        decoder: ImageDecoder | None = None,
        previews: bool = True,
        progress_every: timedelta = timedelta(seconds=0.25),
        preview_every: timedelta = timedelta(seconds=0.5),
        upscaler: Upscaler | None = None,
    ) -> ProcessJobs:
        """The three stages over one set of ports, sharing one claim (the "still ours" rule)
        and one storage retry policy."""
        claim = ClaimJobs(uow_factory, clock, ids, worker_id=worker_id, lease=lease, metrics=metrics)
        retry = StorageRetry(delays=storage_retry_delays)
        render = RenderBatch(
            claim,
            generator,
            encoder,
            storage,
            retry,
            clock,
            ids,
            batch_generator=batch_generator,
            decoder=decoder,
            live_events=live_events,
            pacing=Pacing(progress_every=progress_every, previews=previews, preview_every=preview_every),
            upscaler=upscaler,
        )
        finish = FinishImage(
            claim,
            uow_factory,
            generator,
            encoder,
            storage,
            retry,
            clock,
            ids,
            metrics,
            safety=safety,
            block_unsafe=block_unsafe,
        )
        return cls(claim, render, finish)

    def execute(self, job_id: str) -> ProcessOutcome:
        return self.execute_batch([job_id])[0]

    def execute_batch(self, job_ids: Sequence[str]) -> list[ProcessOutcome]:
        """Run several jobs; those sharing a batch key go through the generator together."""
        return [future.result() for future in self.execute_batch_pipelined(job_ids, _now)]

    def execute_batch_pipelined(
        self, job_ids: Sequence[str], submit: Submit, dispatched_only: bool = False
    ) -> list[Future[ProcessOutcome]]:
        """Generate now; hand each finished image's check, encoding, upload and settlement to
        `submit` (a finishing thread's), so the generator can start the next batch meanwhile.
        The futures are in the order of `job_ids`. `dispatched_only`: jobs from the transport,
        started only if the dispatcher dispatched them."""
        outcomes: dict[str, Future[ProcessOutcome]] = {}
        started: list[ImageJob] = []
        claims = self.claim.start_all(job_ids, dispatched_only)
        for job_id, claimed in zip(job_ids, claims, strict=True):
            if isinstance(claimed, ProcessOutcome):
                outcomes[job_id] = _done(claimed)
            else:
                started.append(claimed)
        for group in batches(started):
            for job, future in zip(group, self._run_group(group, started, submit), strict=True):
                outcomes[job.id] = future
        return [outcomes[job_id] for job_id in job_ids]

    def _run_group(
        self, jobs: list[ImageJob], held: list[ImageJob], submit: Submit
    ) -> list[Future[ProcessOutcome]]:
        """The group's futures, in order. A job whose starting image cannot be read fails alone,
        before the others render; a generator failure fails the whole group."""
        began = time.perf_counter()
        outcomes: dict[str, Future[ProcessOutcome]] = {}
        ready: list[ImageJob] = []
        specs: list[RenderSpec] = []
        for job in jobs:
            try:
                specs.append(self.render.spec(job))
                ready.append(job)
            except Exception as error:  # its starting image is gone or unreadable: it alone fails
                outcomes[job.id] = _done(
                    self.finish.fail(job, "reading the starting image failed", began, error)
                )
        if ready:
            try:
                images = self.render.render(ready, specs, held)
            except GenerationInterrupted:
                outcomes.update((job.id, _done(self.finish.abandoned(job))) for job in ready)
            except Exception as error:  # any generator failure fails the jobs, with a refund
                outcomes.update(
                    (job.id, _done(self.finish.fail(job, "generation failed", began, error))) for job in ready
                )
            else:
                for job, image in zip(ready, images, strict=True):
                    outcomes[job.id] = submit(partial(self.finish, job, image, began))
        return [outcomes[job.id] for job in jobs]
