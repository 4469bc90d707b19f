"""The application facade: every use case behind one object built from the ports."""

from __future__ import annotations

from dataclasses import dataclass, field

from nexus_image.application.albums import ManageAlbums
from nexus_image.application.audit import RecordAudit
from nexus_image.application.cancel import CancelGeneration
from nexus_image.application.dto import GenerateImage, ImageView, ProcessOutcome
from nexus_image.application.images import ImageQueries, ManageImages
from nexus_image.application.maintenance import CleanupFailedJobs, RecoverStalledJobs
from nexus_image.application.ports import (
    Clock,
    EventPublisher,
    IdGenerator,
    ImageEncoder,
    ImageGenerator,
    Metrics,
    ObjectStorage,
    PromptModerator,
    SeedSource,
    UnitOfWorkFactory,
)
from nexus_image.application.process_job import ProcessJobs
from nexus_image.application.redeliver import RedeliverQueuedJobs
from nexus_image.application.relay import RelayOutbox
from nexus_image.application.request_generation import RequestGeneration
from nexus_image.application.tokens import ManageTokens


class NullMetrics:
    def generation_requested(self, style: str, resolution: str, tokens: int) -> None:
        return None

    def generation_finished(self, outcome: str, resolution: str, seconds: float) -> None:
        return None

    def storage_upload(self, seconds: float) -> None:
        return None


@dataclass(slots=True)
class Dependencies:
    """The ports an application needs. `generator`/`encoder` are needed by workers only;
    `publisher` is where the outbox relay sends events."""

    uow_factory: UnitOfWorkFactory
    storage: ObjectStorage
    moderator: PromptModerator
    clock: Clock
    ids: IdGenerator
    seeds: SeedSource
    publisher: EventPublisher
    generator: ImageGenerator | None = None
    encoder: ImageEncoder | None = None
    live_events: EventPublisher | None = None
    metrics: Metrics = field(default_factory=NullMetrics)
    welcome_grant: int = 0
    worker_id: str = "worker"


class ImageService:
    """What other services call: request, follow, organise and pay for generated images."""

    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps
        d = deps
        self.images = ImageQueries(d.uow_factory, d.storage)
        self.manage = ManageImages(d.uow_factory, d.storage, d.clock, d.ids)
        self.albums = ManageAlbums(d.uow_factory, self.images, d.clock, d.ids)
        self.tokens = ManageTokens(d.uow_factory, d.clock, d.welcome_grant)
        self.relay = RelayOutbox(d.uow_factory, d.publisher, d.clock)
        self.cleanup = CleanupFailedJobs(d.uow_factory, d.storage, d.clock)
        self.recover = RecoverStalledJobs(d.uow_factory, d.clock, d.ids)
        self.redeliver = RedeliverQueuedJobs(d.uow_factory, d.clock, d.ids)
        self.audit = RecordAudit(d.uow_factory, d.clock)
        self._request = RequestGeneration(
            d.uow_factory, d.moderator, d.clock, d.ids, d.seeds, d.metrics, d.welcome_grant
        )
        self._cancel = CancelGeneration(d.uow_factory, d.clock, d.ids)
        self._process: ProcessJobs | None = None
        if d.generator is not None and d.encoder is not None:
            self._process = ProcessJobs(
                d.uow_factory,
                d.generator,
                d.encoder,
                d.storage,
                d.clock,
                d.ids,
                d.metrics,
                d.live_events,
                d.worker_id,
            )

    def request_generation(self, command: GenerateImage) -> ImageView:
        return self._request.execute(command)

    def cancel(self, user_id: str, job_id: str) -> ImageView:
        return self._cancel.execute(user_id, job_id)

    @property
    def worker(self) -> ProcessJobs:
        if self._process is None:
            raise RuntimeError("this service was built without a generator and encoder")
        return self._process

    def process(self, job_id: str) -> ProcessOutcome:
        return self.worker.execute(job_id)

    def get_image(self, user_id: str | None, job_id: str) -> ImageView:
        return self.images.get(user_id, job_id)
