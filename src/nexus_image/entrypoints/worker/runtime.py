"""The loops a generating process runs, the same in every role that generates: the worker
(takes jobs), the outbox relay and stalled-job recovery. `nexus-image serve` starts them in
threads beside the API; `nexus-image worker` runs the worker loop in its main thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from nexus_image.application.maintenance import RecoverStalledJobs
from nexus_image.application.ports import Clock, JobQueue
from nexus_image.application.process_job import ProcessJobs
from nexus_image.application.redeliver import RedeliverQueuedJobs
from nexus_image.application.relay import RelayOutbox
from nexus_image.entrypoints.worker.loops import (
    Bell,
    DispatcherLoop,
    Listener,
    RecoveryLoop,
    RelayLoop,
    SeatLoop,
    WebhookLoop,
    WorkerLoop,
)

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 10.0


@dataclass
class WorkerRuntime:
    """Built by the composition root with the role's intervals and capabilities.

    `warm_up` loads the model before the first job: while it runs, relay and recovery already
    work and `model_state` says `loading`. A model that fails to load stops the process when
    `exit_on_model_error` (a standalone worker: its orchestrator restarts it); otherwise jobs
    fail with the reason and are refunded, and readiness shows it.

    With `recover_previous_run` (an in-process queue, whose content died with the previous
    process), QUEUED jobs are offered again and PROCESSING ones handed back on start."""

    process: ProcessJobs
    relay_outbox: RelayOutbox
    recover: RecoverStalledJobs
    redeliver: RedeliverQueuedJobs
    queue: JobQueue
    clock: Clock
    max_batch: int = 1
    batch_wait_seconds: float = 0.0
    recovery_every_seconds: float = 30.0
    relay: bool = True
    outbox_bell: Bell | None = None  # rung by commits carrying outbox rows: the relay wakes at once
    outbox_listener: Listener | None = None  # rings it for commits of other processes
    relay_idle_seconds: float = 0.2  # the relay's look without a ring
    warm_up: Callable[[], None] | None = None
    exit_on_model_error: bool = False
    recover_previous_run: bool = False
    dispatcher: DispatcherLoop | None = None
    seat: SeatLoop | None = None
    webhooks: WebhookLoop | None = None  # beside the relay
    stop_event: threading.Event = field(default_factory=threading.Event)
    ready: threading.Event = field(default_factory=threading.Event)
    model_state: str = "not started"
    threads: list[threading.Thread] = field(default_factory=list)
    _stopped: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self.worker = WorkerLoop(
            self.process,
            self.queue,
            max_batch=self.max_batch,
            batch_wait_seconds=self.batch_wait_seconds,
            stop_event=self.stop_event,
        )
        self.relay_loop = RelayLoop(
            self.relay_outbox,
            idle_seconds=self.relay_idle_seconds,
            stop_event=self.stop_event,
            bell=self.outbox_bell,
            listener=self.outbox_listener,
        )
        self.recovery = RecoveryLoop(self.recover, self.recovery_every_seconds, self.stop_event)
        for loop in (self.dispatcher, self.seat, self.webhooks):
            if loop is not None:
                loop.stop_event = self.stop_event

    def _recover_previous_run(self) -> None:
        if not self.recover_previous_run:
            return
        offered = self.redeliver.execute(self.clock.now())
        requeued, _failed = self.recover.execute(all_running=True)
        if offered or requeued:
            log.info("picked up %d queued and %d interrupted jobs from the previous run", offered, requeued)

    def _background(self) -> list[threading.Thread]:
        loops: list[tuple[str, Callable[[], None]]] = [("stalled-job-recovery", self.recovery.run)]
        if self.relay:
            loops.append(("outbox-relay", self.relay_loop.run))
            if self.webhooks is not None:
                loops.append(("webhooks", self.webhooks.run))
        if self.dispatcher is not None:
            loops.append(("dispatcher", self.dispatcher.run))
        threads = [threading.Thread(target=run, name=name, daemon=True) for name, run in loops]
        for thread in threads:
            thread.start()
        return threads

    def _load_model(self) -> None:
        if self.warm_up is None:
            self.model_state = "ready"
            return
        self.model_state = "loading"
        try:
            self.warm_up()
        except Exception as error:
            self.model_state = f"failed: {type(error).__name__}"
            if self.exit_on_model_error:
                raise
            log.exception("model failed to load")  # jobs will fail (and be refunded) with the reason
        else:
            self.model_state = "ready"

    def _begin(self) -> None:
        # A runtime may be started again after a stop (test clients do): that is a new run. A
        # stop asked before the first start (a SIGTERM while the process was still starting) is
        # kept, so the runtime ends at once instead of losing it.
        if self._stopped:
            self.stop_event.clear()
            self._stopped = False
        self._recover_previous_run()
        self.threads = self._background()

    def _work(self) -> None:
        if self.stop_event.is_set():
            return  # stopped before it began: no model load, no job taken
        self._load_model()
        log.info("worker ready (max batch %d)", self.max_batch)
        if self.seat is not None:  # jobs are dispatched to it from now on
            seat = threading.Thread(target=self.seat.run, name="worker-seat", daemon=True)
            seat.start()
            self.threads.append(seat)
        self.ready.set()
        self.worker.run()

    def run(self) -> None:
        """In this thread, until `stop_event`: the batch in hand is finished first, then nothing
        more is taken."""
        self._begin()
        try:
            self._work()
        finally:
            self.stop(timeout=30)

    def start(self) -> None:
        """In threads: recovery of the previous run first, then the loops."""
        self._begin()
        worker = threading.Thread(target=self._work, name="embedded-worker", daemon=True)
        worker.start()
        self.threads.append(worker)

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stop taking jobs and wait for the one in hand; a job cut short is handed back on the
        next start (or by recovery)."""
        self.stop_event.set()
        self._stopped = True
        if self.outbox_bell is not None:
            self.outbox_bell.ring()  # the relay wakes and sees the stop
        for thread in self.threads:
            thread.join(timeout)
