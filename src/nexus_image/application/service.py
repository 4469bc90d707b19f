"""The library's entry: the use cases of a built application under one name. The composition
root (`nexus_image.entrypoints.composition`) builds the use cases and hands them in."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_image.application.albums import ManageAlbums
from nexus_image.application.audit import RecordAudit
from nexus_image.application.cancel import CancelGeneration
from nexus_image.application.dispatch import DispatchJobs, ManageQueue
from nexus_image.application.dto import GenerateImage, ImageView, ProcessOutcome
from nexus_image.application.images import ImageQueries, ManageImages
from nexus_image.application.maintenance import CleanupFailedJobs, RecoverStalledJobs
from nexus_image.application.moderation import ModeratePrompts
from nexus_image.application.ports import (
    Clock,
    LoraCatalog,
    ObjectStorage,
    UnitOfWorkFactory,
)
from nexus_image.application.process_job import ProcessJobs
from nexus_image.application.read_parameters import ReadParameters
from nexus_image.application.redeliver import RedeliverQueuedJobs
from nexus_image.application.relay import RelayOutbox
from nexus_image.application.request_generation import RequestGeneration
from nexus_image.application.tokens import ManageTokens
from nexus_image.application.uploads import ManageUploads
from nexus_image.application.upscale import UpscaleImage


@dataclass(frozen=True, slots=True)
class Dependencies:
    """The shared ports the service was built on, for callers that look below the use cases
    (a host process's own queries, tests)."""

    uow_factory: UnitOfWorkFactory
    storage: ObjectStorage
    clock: Clock


class ImageService:
    """The library's entry, for other services and their tests: the use cases of one built
    application under one name (the HTTP handlers, the worker loops and the CLI take theirs
    from the composition root directly). `request_generation`, `cancel`, `process` and
    `get_image` are the short ways; the use cases themselves are attributes (`request` for
    several images, an audit row or a remix). `worker` is there only in roles that generate
    (embedded, worker, cli, memory)."""

    def __init__(
        self,
        *,
        deps: Dependencies,
        images: ImageQueries,
        manage: ManageImages,
        albums: ManageAlbums,
        tokens: ManageTokens,
        relay: RelayOutbox,
        cleanup: CleanupFailedJobs,
        recover: RecoverStalledJobs,
        redeliver: RedeliverQueuedJobs,
        audit: RecordAudit,
        request: RequestGeneration,
        cancel: CancelGeneration,
        moderation: ModeratePrompts,
        read_parameters: ReadParameters,
        uploads: ManageUploads,
        lora_catalog: LoraCatalog,
        dispatcher: DispatchJobs,
        queue: ManageQueue,
        process: ProcessJobs | None = None,
        upscale: UpscaleImage | None = None,
    ) -> None:
        self.deps = deps
        self.images = images
        self.manage = manage
        self.albums = albums
        self.tokens = tokens
        self.relay = relay
        self.cleanup = cleanup
        self.recover = recover
        self.redeliver = redeliver
        self.audit = audit
        self.request = request
        self._cancel = cancel
        self.moderation = moderation
        self.read_parameters = read_parameters
        self.uploads = uploads
        self.lora_catalog = lora_catalog
        self._process = process
        self.dispatcher = dispatcher  # dispatches queued jobs in the fair-share order
        self.queue = queue  # the queue's status, pause and resume
        self.upscale = upscale  # a larger copy of an image, as a job of its own

    def request_generation(self, command: GenerateImage) -> ImageView:
        """The first (or only) image of the request, moderated, charged and queued."""
        return self.request.execute(command)

    def cancel(self, user_id: str, job_id: str) -> ImageView:
        return self._cancel.execute(user_id, job_id)

    @property
    def worker(self) -> ProcessJobs:
        if self._process is None:
            raise RuntimeError("this service was built for a role that does not generate (api)")
        return self._process

    def process(self, job_id: str) -> ProcessOutcome:
        return self.worker.execute(job_id)

    def get_image(self, user_id: str | None, job_id: str) -> ImageView:
        return self.images.get(user_id, job_id)
