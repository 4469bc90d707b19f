"""The worker that `nexus-image serve` runs inside the API process (NEXUS_IMAGE_EMBEDDED_WORKER):
the worker, outbox-relay and stalled-job-recovery loops of entrypoints/worker, in threads."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import timedelta

from nexus_image.application.ports import ImageGenerator, JobQueue
from nexus_image.application.service import ImageService
from nexus_image.entrypoints.settings import Settings
from nexus_image.entrypoints.worker.loops import RecoveryLoop, RelayLoop, WorkerLoop

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 10.0


@dataclass
class EmbeddedWorker:
    """Started with the app, stopped with it. With the in-process queue, the queue of a previous
    run is gone: its QUEUED jobs are offered again and the jobs it was running are handed back
    (there is no other worker that could still be running them). The model loads in the worker
    thread, so the API answers at once; /ready says `loading` until it is in memory."""

    service: ImageService
    queue: JobQueue
    settings: Settings
    generator: ImageGenerator | None
    model_state: str = "not started"
    threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        s = self.settings
        self.worker = WorkerLoop(
            service=self.service,
            queue=self.queue,
            max_batch=s.max_batch,
            batch_wait_seconds=s.batch_wait_seconds,
        )
        self.relay = RelayLoop(service=self.service)
        self.recovery = RecoveryLoop(service=self.service, every_seconds=min(30.0, s.stale_job_seconds / 2))

    def recover_previous_run(self) -> tuple[int, int]:
        """Jobs the previous process left behind: (offered again, handed back from PROCESSING)."""
        if self.settings.kafka_bootstrap_servers:
            return 0, 0  # a broker kept them, and other workers may be running them
        now = self.service.deps.clock.now()
        offered = self.service.redeliver.execute(now)
        requeued, _failed = replace(self.service.recover, timeout=timedelta(0)).execute()
        return offered, requeued

    def start(self) -> None:
        offered, requeued = self.recover_previous_run()
        if offered or requeued:
            log.info("picked up %d queued and %d interrupted jobs from the previous run", offered, requeued)
        for loop in (self.worker, self.relay, self.recovery):
            loop.stop_event.clear()  # an app may be started again after a stop (test clients do)
        self.threads = [
            threading.Thread(target=self._work, name="embedded-worker", daemon=True),
            threading.Thread(target=self.relay.run, name="outbox-relay", daemon=True),
            threading.Thread(target=self.recovery.run, name="stalled-job-recovery", daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def _work(self) -> None:
        load = getattr(self.generator, "load", None)
        if load is not None:
            self.model_state = "loading"
            try:
                load()
            except Exception as error:  # jobs will fail (and be refunded) with the reason
                log.exception("model failed to load")
                self.model_state = f"failed: {type(error).__name__}"
            else:
                self.model_state = "ready"
        else:
            self.model_state = "ready"
        self.worker.run()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stop taking jobs and wait for the one in hand; a job cut short is handed back on the
        next start."""
        for loop in (self.worker, self.relay, self.recovery):
            loop.stop_event.set()
        for thread in self.threads:
            thread.join(timeout)
