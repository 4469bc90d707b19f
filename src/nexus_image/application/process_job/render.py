"""Stage 2 of a job on the worker: render a group of jobs that share a batch key, watching
after each step whether they are still ours and telling watchers how far they got."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from nexus_image.application.errors import GenerationInterrupted, NotFound, QueueUnavailable
from nexus_image.application.ports import (
    BatchImageGenerator,
    Clock,
    EventPublisher,
    IdGenerator,
    ImageDecoder,
    ImageEncoder,
    ImageGenerator,
    ObjectStorage,
    RawImage,
    RenderSpec,
)
from nexus_image.application.ports.upscaling import Upscaler
from nexus_image.application.process_job.claim import ClaimJobs
from nexus_image.application.process_job.retry import StorageRetry
from nexus_image.application.storage_keys import image_key, upload_key
from nexus_image.domain.events import DomainEvent
from nexus_image.domain.job import ImageJob
from nexus_image.domain.parameters import BatchKey, Mode

log = logging.getLogger(__name__)


def batches(jobs: list[ImageJob]) -> list[list[ImageJob]]:
    """`jobs` grouped by batch key, in the order each key first appears: each group can go
    through the generator as one run."""
    groups: dict[BatchKey, list[ImageJob]] = {}
    for job in jobs:
        groups.setdefault(job.parameters.batch_key(), []).append(job)
    return list(groups.values())


@dataclass(slots=True)
class Pacing:
    """After each step: whether the jobs are still ours (cancelled, or taken over after a lost
    lease) is read at most every `ownership_every`, in one query for the group, and at the last
    step; progress goes out at most every `progress_every` per job, and always for the first and
    the last step; live previews (where the generator makes them) at most every `preview_every`,
    as WebPs of at most `preview_bytes`."""

    ownership_every: timedelta = timedelta(seconds=1)
    progress_every: timedelta = timedelta(seconds=0.25)
    previews: bool = True
    preview_every: timedelta = timedelta(seconds=0.5)
    preview_bytes: int = 8 * 1024


@dataclass(slots=True)
class RenderBatch:
    """A group of jobs renders as one batch where the generator can, else one job after the
    other; it stops at the next step once none of them is ours any more (GenerationInterrupted)."""

    claim: ClaimJobs
    generator: ImageGenerator
    encoder: ImageEncoder  # the previews
    storage: ObjectStorage  # the starting images
    retry: StorageRetry
    clock: Clock
    ids: IdGenerator
    batch_generator: BatchImageGenerator | None = None  # the generator's batch capability, if any
    decoder: ImageDecoder | None = None  # starting images and masks (image to image, inpainting)
    live_events: EventPublisher | None = None
    pacing: Pacing = field(default_factory=Pacing)
    upscaler: Upscaler | None = None  # upscale jobs (none here: they fail, refunded)

    def spec(self, job: ImageJob) -> RenderSpec:
        """What the generator renders for `job`: with a starting image (and mask), read from
        storage and decoded at the job's size; for an upscale, its source image as stored.
        Raises when they cannot be read."""
        p = job.parameters
        if p.init_image_id is None and p.upscale_of is None:
            return RenderSpec.of(p)
        if self.decoder is None:
            raise NotFound("image decoder", "for starting images on this worker")
        decoder = self.decoder
        if p.init_image_id is None:
            return self._upscale_spec(job, decoder)

        def picture(upload_id: str) -> RawImage:
            data = self.retry(lambda: self.storage.get(upload_key(job.user_id, upload_id)))
            return decoder.decode(data, p.width, p.height)

        mask = picture(p.mask_image_id) if p.mask_image_id is not None else None
        return RenderSpec.of(p, picture(p.init_image_id), mask)

    def _upscale_spec(self, job: ImageJob, decoder: ImageDecoder) -> RenderSpec:
        p = job.parameters
        assert p.upscale_of is not None
        with self.claim.uow_factory() as uow:
            source = uow.jobs.get(p.upscale_of)
        if source is None:
            raise NotFound("image", p.upscale_of)  # deleted since: the upscale fails, refunded
        data = self.retry(lambda: self.storage.get(image_key(source.user_id, source.id)))
        width, height = source.parameters.output_size
        picture = decoder.decode(data, width, height)
        prompt, negative = p.styled_prompts()
        return RenderSpec(p, prompt, negative, width, height, picture)

    def _upscale(self, specs: list[RenderSpec], on_step: StepWatch) -> list[RawImage]:
        """Each source enlarged by its factor (one step each, as watchers see it)."""
        if self.upscaler is None:
            raise NotFound("upscaler", "on this worker")
        images = []
        for index, spec in enumerate(specs):
            on_step.rendering = [index]
            p = spec.parameters
            assert spec.init_image is not None and p.upscale_factor is not None and p.upscaler is not None
            if not on_step(0, 1):
                raise GenerationInterrupted("stopped before upscaling")
            images.append(self.upscaler.upscale(spec.init_image, p.upscale_factor, p.upscaler))
            on_step(1, 1)
        return images

    def render(self, jobs: list[ImageJob], specs: list[RenderSpec], held: list[ImageJob]) -> list[RawImage]:
        """An image for each job, in order; `held` is every job of the worker's batch, whose
        leases are kept meanwhile. Raises what the generator raises."""
        on_step = StepWatch(self, jobs, held)
        if jobs[0].parameters.mode is Mode.UPSCALE:
            return self._upscale(specs, on_step)
        if len(jobs) > 1 and self.batch_generator is not None:
            return self.batch_generator.generate_batch(specs, on_step)
        images = []
        for index, spec in enumerate(specs):
            on_step.rendering = [index]
            images.append(self.generator.generate(spec, on_step))
        return images

    def publish_live(self, event: DomainEvent) -> None:
        if self.live_events is None:
            return
        try:
            self.live_events.publish(event)
        except QueueUnavailable:
            pass  # progress is advisory; the outcome travels through the outbox


class StepWatch:
    """The step callback of one group of jobs (a PreviewingStepCallback): it keeps the leases,
    stops the run when no job of the group is ours any more, and tells watchers how far it got,
    with a preview now and then, all without a query or an event per step. `rendering` says
    which of the jobs the generator's images are, in order (all of them for a batch)."""

    def __init__(self, stage: RenderBatch, jobs: list[ImageJob], held: list[ImageJob]) -> None:
        self.stage = stage
        self.jobs = list(jobs)
        self.held = held
        self.active = list(jobs)
        self.rendering = list(range(len(jobs)))
        self.checked = self.published = self.previewed = stage.clock.now()  # `processing` is out

    def __call__(self, step: int, total: int) -> bool:
        stage, pacing = self.stage, self.stage.pacing
        stage.claim.keep(self.held, (step, total))
        now = stage.clock.now()
        last = step >= total
        if last or now - self.checked >= pacing.ownership_every:
            self.active, self.checked = stage.claim.still_held(self.active), now
        if self.active and (last or step == 1 or now - self.published >= pacing.progress_every):
            self.published = now
            for job in self.active:
                stage.publish_live(job.progress(step, total, now, event_id=stage.ids.new_id()))
        return bool(self.active)

    def wants_preview(self, step: int, total: int) -> bool:
        stage, pacing = self.stage, self.stage.pacing
        if not pacing.previews or stage.live_events is None or not self.active or step >= total:
            return False
        return stage.clock.now() - self.previewed >= pacing.preview_every

    def preview(self, step: int, total: int, images: list[RawImage]) -> None:
        stage = self.stage
        now = self.previewed = stage.clock.now()
        active = {job.id for job in self.active}
        for index, raw in zip(self.rendering, images, strict=False):
            job = self.jobs[index]
            if job.id not in active:
                continue
            try:
                data = stage.encoder.preview(raw, stage.pacing.preview_bytes)
            except Exception:  # a preview is a nicety: never a reason to stop a generation
                log.warning("preview not encoded for job %s", job.id, exc_info=True)
                continue
            encoded = base64.b64encode(data).decode("ascii")
            stage.publish_live(job.progress(step, total, now, event_id=stage.ids.new_id(), preview=encoded))
