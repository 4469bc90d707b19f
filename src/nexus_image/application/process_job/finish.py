"""Stage 3 of a job on the worker: finish its rendered image (check, encode with metadata,
store, settle), or fail it with a refund."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from nexus_image.application.errors import NotFound, StorageUnavailable
from nexus_image.application.ports import (
    Clock,
    EncodedImage,
    IdGenerator,
    ImageEncoder,
    ImageGenerator,
    ImageSafetyChecker,
    Metrics,
    ObjectStorage,
    RawImage,
    UnitOfWork,
    UnitOfWorkFactory,
)
from nexus_image.application.process_job.claim import ClaimJobs
from nexus_image.application.process_job.retry import StorageRetry
from nexus_image.application.process_outcome import Outcome, ProcessOutcome
from nexus_image.application.storage_keys import image_key, thumbnail_key
from nexus_image.application.transactions import in_transaction, record
from nexus_image.domain.job import ImageJob
from nexus_image.domain.png_parameters import a1111_text
from nexus_image.domain.safety import OutputSafety
from nexus_image.domain.transition import Transition

log = logging.getLogger(__name__)


def png_metadata(job: ImageJob, model_name: str) -> dict[str, str]:
    """The text chunks of a job's PNG, in this order: every parameter (lists as JSON), then the
    job id, the model, the prompts the model saw, all parameters with the model as one JSON
    object, and the same as AUTOMATIC1111 writes them (what other tools read). Readers of our
    PNGs rely on these keys and spellings."""
    prompt, negative = job.parameters.styled_prompts()
    params = job.parameters.to_dict()
    meta = {k: json.dumps(v) if isinstance(v, list) else str(v) for k, v in params.items()}
    meta.update(
        job_id=job.id,
        model=model_name,
        styled_prompt=prompt,
        styled_negative_prompt=negative,
        parameters=json.dumps({**params, "model": model_name}, sort_keys=True),
        a1111_parameters=a1111_text(job.parameters, model_name),
    )
    return meta


@dataclass(slots=True)
class FinishImage:
    """A rendered image is checked, stored (image and thumbnail) and its job COMPLETED; any
    failure makes the job FAILED with its exact cost refunded once. Only a job still ours is
    settled: one settled elsewhere (a cancel, or recovery after our lease ended) is left alone,
    and nothing of it is kept."""

    claim: ClaimJobs
    uow_factory: UnitOfWorkFactory
    generator: ImageGenerator  # its model's name goes into the PNG
    encoder: ImageEncoder
    storage: ObjectStorage
    retry: StorageRetry
    clock: Clock
    ids: IdGenerator
    metrics: Metrics
    safety: ImageSafetyChecker | None = None  # the output check on every finished image
    block_unsafe: bool = False  # a flagged image fails its job (refunded) instead of staying private
    _checks: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="output-check"),
        init=False,
        repr=False,
    )

    def __call__(self, job: ImageJob, raw: RawImage, began: float) -> ProcessOutcome:
        """`began`: when the job's group started (`time.perf_counter`), for its duration."""
        key = thumb = image_key(job.user_id, job.id)
        # The output check runs beside the encoding (both leave the GIL to native code); the
        # image is stored only once the check has passed.
        checking = self._checks.submit(self._check, raw) if self.safety is not None else None
        encoded: EncodedImage | Exception
        try:
            stage = time.perf_counter()
            model = job.parameters.model or self.generator.model_name
            encoded = self.encoder.encode(raw, png_metadata(job, model))
            self._timed("encode", stage)
        except Exception as error:
            encoded = error  # failed, said once the check has answered
        try:
            safety = checking.result() if checking is not None else None
        except Exception as error:  # a broken checker must not let an unchecked image through
            return self.fail(job, "output check failed", began, error)
        if safety is not None and safety.flagged and self.block_unsafe:
            return self.fail(job, safety.reason, began)  # nothing of it is stored
        if isinstance(encoded, Exception):
            return self.fail(job, "storing the image failed", began, encoded)
        try:
            stage = time.perf_counter()
            thumb = thumbnail_key(job.user_id, job.id, encoded.thumbnail_extension)
            object_meta = {"job-id": job.id, "user-id": job.user_id, "seed": str(job.parameters.seed)}
            self._put(key, encoded.image, encoded.image_content_type, object_meta)
            self._put(thumb, encoded.thumbnail, encoded.thumbnail_content_type, object_meta)
            stage = self._timed("store", stage)
        except Exception as error:
            self._discard(key, thumb)
            return self.fail(job, "storing the image failed", began, error)

        def complete(current: ImageJob) -> Transition:
            return current.complete(
                self.clock.now(),
                key,
                thumb,
                duration_seconds=time.perf_counter() - began,
                safety=safety,
                event_id=self.ids.new_id(),
                stored_bytes=len(encoded.image) + len(encoded.thumbnail),
            )

        outcome = self._settle(job, complete, ProcessOutcome(job.id, Outcome.COMPLETED), "no longer ours")
        self._timed("settle", stage)
        if outcome.status is not Outcome.COMPLETED:
            self._discard(key, thumb)
        else:
            p = job.parameters
            self.metrics.generation_finished(
                "completed", p.resolution.value, time.perf_counter() - began, p.model
            )
        return outcome

    def fail(
        self, job: ImageJob, reason: str, began: float, error: BaseException | None = None
    ) -> ProcessOutcome:
        """FAILED with an exact refund, if the job is still ours. `reason` is what its owner
        reads; the `error` behind it (its message may name files, keys or hosts) goes to the
        log only, under a reference given with the reason."""
        if error is not None:
            reference = self.ids.new_id().replace("-", "")[:12]
            log.warning(
                "job %s: %s (reference %s): %s: %s", job.id, reason, reference, type(error).__name__, error
            )
            reason = f"{reason} (reference {reference})"

        def fail(current: ImageJob) -> Transition:
            return current.fail(self.clock.now(), reason, event_id=self.ids.new_id())

        done = ProcessOutcome(job.id, Outcome.FAILED, reason)
        outcome = self._settle(job, fail, done, "already settled elsewhere")
        if outcome.status is Outcome.FAILED:
            p = job.parameters
            self.metrics.generation_finished(
                "failed", p.resolution.value, time.perf_counter() - began, p.model
            )
        return outcome

    def abandoned(self, job: ImageJob) -> ProcessOutcome:
        """A job whose rendering stopped at a step, because it was not ours any more: its
        outcome is whatever settled it elsewhere."""
        with self.uow_factory() as uow:
            current = uow.jobs.get(job.id)
        self.metrics.generation_finished(
            "cancelled", job.parameters.resolution.value, 0.0, job.parameters.model
        )
        return ProcessOutcome(job.id, Outcome.of(current), "stopped between steps")

    def _settle(
        self,
        job: ImageJob,
        transition: Callable[[ImageJob], Transition],
        done: ProcessOutcome,
        not_ours: str,
    ) -> ProcessOutcome:
        """`transition` recorded on the job, if it is still ours, in one transaction: `done`;
        otherwise its current status with `not_ours` as the detail."""

        def work(uow: UnitOfWork) -> ProcessOutcome:
            current = uow.jobs.get(job.id)
            if not self.claim.ours(current):
                return ProcessOutcome(job.id, Outcome.of(current), not_ours)
            record(uow, current, transition(current), self.clock)
            return done

        return in_transaction(self.uow_factory, work)

    def _timed(self, stage: str, since: float) -> float:
        """`stage` took from `since` to now: measured; now is returned, the next stage's start."""
        now = time.perf_counter()
        self.metrics.finish_stage(stage, now - since)
        return now

    def _check(self, raw: RawImage) -> OutputSafety | None:
        if self.safety is None:
            return None
        started = time.perf_counter()
        verdict = self.safety.check(raw)
        self._timed("check", started)
        safety = OutputSafety(
            not verdict.safe, min(max(verdict.score, 0.0), 1.0), verdict.labels, verdict.checker
        )
        self.metrics.image_checked(safety.checker, safety.flagged, safety.score)
        return safety

    def _put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None:
        def upload() -> None:
            began = time.perf_counter()
            self.storage.put(key, data, content_type, metadata)
            self.metrics.storage_upload(time.perf_counter() - began)  # a successful attempt's time

        self.retry(upload)

    def _discard(self, *keys: str) -> None:
        for key in dict.fromkeys(keys):
            try:
                self.storage.delete(key)
            except (StorageUnavailable, NotFound):
                pass  # the cleanup of failed jobs removes leftovers later
