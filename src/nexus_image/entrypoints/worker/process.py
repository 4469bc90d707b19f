"""The standalone worker process: one per GPU, scaled by adding members to the consumer group.

It runs the same loops as the embedded worker (the worker in the main thread, the outbox relay
and stalled-job recovery in background threads), built by the composition root for the
`worker` role. SIGTERM or SIGINT finish the batch in hand and stop; the queue is closed so its
partitions move to the other members at once."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from nexus_image.application.ports import ImageGenerator
from nexus_image.entrypoints.composition import Application, compose
from nexus_image.entrypoints.settings import Settings

log = logging.getLogger(__name__)


class WorkerProcess:
    """Builds the `worker` application and runs its loops until `stop()`."""

    def __init__(self, settings: Settings, worker_id: str, generator: ImageGenerator | None = None) -> None:
        self.settings = settings
        self.worker_id = worker_id
        self.generator = generator  # None: the model the settings name
        self.stop_event = threading.Event()
        self.ready = threading.Event()  # set once the model is loaded and the loops run
        self.app: Application | None = None

    def build(self) -> Application:
        overrides: dict[str, object] = {"worker_id": self.worker_id}
        if self.generator is not None:
            overrides["generator"] = self.generator
        return compose("worker", self.settings, stop_event=self.stop_event, ready=self.ready, **overrides)

    def stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        if signum is not None:
            log.info("signal %d: finishing the current batch, then stopping", signum)
        self.stop_event.set()

    def run(self, install_signals: bool = True) -> None:
        if install_signals:
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        app = self.app = self.build()
        try:
            if self.settings.worker_metrics_port:  # first: /health answers while the rest starts
                app.serve_metrics(self.settings.worker_metrics_port)
            app.prepare_broker()
            if not self.stop_event.is_set():
                app.runtime.run()
        finally:
            app.close()
            log.info("worker %s stopped", self.worker_id)
