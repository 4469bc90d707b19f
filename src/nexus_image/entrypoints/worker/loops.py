"""Loops that run until told to stop; each survives errors of one iteration and logs them."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from nexus_image.application.ports import JobQueue
from nexus_image.application.service import ImageService

log = logging.getLogger(__name__)


@dataclass
class WorkerLoop:
    """Takes jobs from the queue and processes them; a delivery is acknowledged only once its
    outcome is durable, so a worker that dies leaves its job to be delivered again."""

    service: ImageService
    queue: JobQueue
    max_batch: int = 1
    poll_seconds: float = 0.5
    stop_event: threading.Event = field(default_factory=threading.Event)
    processed: int = 0

    def run_once(self) -> int:
        deliveries = self.queue.receive(self.max_batch, self.poll_seconds)
        if not deliveries:
            return 0
        outcomes = self.service.worker.execute_batch([d.job_id for d in deliveries])
        for delivery, outcome in zip(deliveries, outcomes, strict=True):
            log.info("job %s: %s %s", outcome.job_id, outcome.status, outcome.detail)
            self.queue.acknowledge(delivery)
        self.processed += len(deliveries)
        return len(deliveries)

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.run_once()
            except Exception:  # one bad iteration must not kill the worker
                log.exception("worker iteration failed")
                self.stop_event.wait(1.0)


@dataclass
class RelayLoop:
    """Publishes outbox events; idles briefly when there is nothing to send."""

    service: ImageService
    idle_seconds: float = 0.2
    stop_event: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                sent = self.service.relay.execute()
            except Exception:
                log.exception("outbox relay iteration failed")
                sent = 0
            if not sent:
                self.stop_event.wait(self.idle_seconds)


@dataclass
class RecoveryLoop:
    """Re-queues jobs whose worker stopped answering."""

    service: ImageService
    every_seconds: float = 30.0
    stop_event: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop_event.wait(self.every_seconds):
            try:
                requeued, failed = self.service.recover.execute()
                if requeued or failed:
                    log.warning("stalled jobs: %d re-queued, %d failed", requeued, failed)
            except Exception:
                log.exception("stalled-job recovery failed")
