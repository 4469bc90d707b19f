"""The standalone worker process: one per GPU, scaled by adding members to the consumer group.

It loads the model once, then runs three loops: the worker (main thread), the outbox relay and
stalled-job recovery (background threads). SIGTERM or SIGINT finish the batch in hand and stop;
the queue is closed so its partitions move to the other members at once."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta
from types import FrameType

from prometheus_client import start_http_server

from nexus_image.adapters.prometheus import PrometheusMetrics
from nexus_image.application.errors import QueueUnavailable
from nexus_image.application.ports import EventPublisher, ImageGenerator
from nexus_image.entrypoints.bootstrap import Application, build_application
from nexus_image.entrypoints.settings import Settings
from nexus_image.entrypoints.worker.loops import RecoveryLoop, RelayLoop, WorkerLoop

log = logging.getLogger(__name__)


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class WorkerProcess:
    """Builds the application for a worker and runs its loops until `stop()`."""

    settings: Settings
    worker_id: str
    generator: ImageGenerator | None = None  # None: the model the settings name

    def __post_init__(self) -> None:
        self.stop_event = threading.Event()
        self.ready = threading.Event()  # set once the model is loaded and the loops run
        self.metrics = PrometheusMetrics()
        self.app: Application | None = None

    def _live_events(self, closers: list[object]) -> EventPublisher | None:
        s = self.settings
        if not s.kafka_bootstrap_servers:
            return None
        from nexus_image.adapters.kafka import KafkaLivePublisher, Topics, client_config

        live = KafkaLivePublisher(
            client_config(s.kafka_bootstrap_servers, s.kafka_client_config), Topics(s.kafka_topic_prefix)
        )
        closers.append(live.close)
        return live

    def _ensure_topics(self) -> None:
        s = self.settings
        if not s.kafka_bootstrap_servers:
            return
        from nexus_image.adapters.kafka import Topics, client_config, ensure_topics

        config = client_config(s.kafka_bootstrap_servers, s.kafka_client_config)
        try:
            ensure_topics(config, Topics(s.kafka_topic_prefix).all(), s.kafka_partitions, timeout=5.0)
        except QueueUnavailable as error:  # the consumer waits for the broker on its own
            log.warning("topics not checked: %s", error)

    def build(self) -> Application:
        closers: list[object] = []
        live = self._live_events(closers)
        app = build_application(
            self.settings,
            generator=self.generator,
            live_events=live,
            metrics=self.metrics,
            worker_id=self.worker_id,
        )
        app.closers[:0] = closers
        app.service.recover.timeout = timedelta(seconds=self.settings.stale_job_seconds)
        load = getattr(app.generator, "load", None)
        if load is not None:
            load()  # once, before taking any job
        return app

    def _serve_metrics(self, app: Application) -> None:
        port = self.settings.worker_metrics_port
        if not port:
            return

        def counts() -> dict[str, int]:
            with app.service.deps.uow_factory() as uow:
                return uow.jobs.count_by_status()

        self.metrics.track_queue(counts)
        server, _thread = start_http_server(port, addr="0.0.0.0", registry=self.metrics.registry)
        app.closers.append(server.shutdown)
        log.info("metrics on :%d/metrics", port)

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
            self._run_loops(app)
        finally:
            app.close()
            log.info("worker %s stopped", self.worker_id)

    def _run_loops(self, app: Application) -> None:
        assert app.queue is not None
        s = self.settings
        self._ensure_topics()
        self._serve_metrics(app)
        worker = WorkerLoop(
            app.service,
            app.queue,
            max_batch=s.max_batch,
            batch_wait_seconds=s.batch_wait_seconds,
            stop_event=self.stop_event,
        )
        every = max(1.0, min(30.0, s.stale_job_seconds / 4))
        background: list[RecoveryLoop | RelayLoop] = [RecoveryLoop(app.service, every, self.stop_event)]
        if s.worker_relay:
            background.append(RelayLoop(app.service, stop_event=self.stop_event))
        threads = [threading.Thread(target=b.run, name=type(b).__name__, daemon=True) for b in background]
        for thread in threads:
            thread.start()
        log.info("worker %s ready (max batch %d)", self.worker_id, s.max_batch)
        self.ready.set()
        try:
            worker.run()
        finally:
            self.stop_event.set()
            for thread in threads:
                thread.join(timeout=30)
