"""Loops that run until told to stop; each survives errors of one iteration and logs them."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from nexus_image.application.dispatch import DispatchJobs, ManageQueue
from nexus_image.application.dto import ProcessOutcome
from nexus_image.application.errors import QueueUnavailable
from nexus_image.application.maintenance import RecoverStalledJobs
from nexus_image.application.ports import Delivery, JobQueue, Leadership
from nexus_image.application.process_job import ProcessJobs
from nexus_image.application.relay import RelayOutbox
from nexus_image.application.webhooks import DeliverWebhooks, RouteWebhookEvents

log = logging.getLogger(__name__)


class FinishingFailed(Exception):
    """A batch's finishing step raised: the iteration fails and the batch is taken again."""


@dataclass
class WorkerLoop:
    """Takes jobs from the queue and processes them; a delivery is acknowledged only once its
    outcome is durable, so a worker that dies leaves its job to be delivered again.

    Dynamic batching: after the first delivery it waits up to `batch_wait_seconds` for more, up
    to `max_batch`; the use case runs compatible jobs through the generator together. An
    iteration that fails (database or queue away) keeps its deliveries and retries them after a
    growing pause, because a consumer never sees an unacknowledged message again by itself.
    Poison messages are logged and acknowledged so they never block a partition.

    Pipelined finishing: a generated batch's output check, encoding, upload and settlement run
    on a finishing thread while the generator starts the next batch; at most one batch is being
    finished when a generation starts, so memory stays flat. Deliveries are acknowledged, in
    order, once their batch is finished (on this thread: the queue is only touched here)."""

    process: ProcessJobs
    queue: JobQueue
    max_batch: int = 1
    poll_seconds: float = 0.5
    stop_event: threading.Event = field(default_factory=threading.Event)
    processed: int = 0
    batch_wait_seconds: float = 0.0
    backoff_seconds: tuple[float, float] = (0.5, 30.0)  # first pause, longest pause
    ack_attempts: int = 3
    pipelined: bool = True
    _pending: list[Delivery] = field(default_factory=list, repr=False)
    _finishing: deque[tuple[list[Delivery], list[Future[ProcessOutcome]]]] = field(
        default_factory=deque, repr=False
    )
    _finisher: ThreadPoolExecutor | None = field(default=None, repr=False)

    def receive_batch(self) -> list[Delivery]:
        deliveries = self.queue.receive(self.max_batch, self.poll_seconds)
        deadline = time.monotonic() + self.batch_wait_seconds
        while deliveries and len(deliveries) < self.max_batch and not self.stop_event.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                deliveries += self.queue.receive(self.max_batch - len(deliveries), left)
            except QueueUnavailable:
                break  # run what we hold; the queue's trouble shows again on the next receive
        return deliveries

    def run_once(self) -> int:
        self._settle(wait_until=0 if self._pending else 1)
        if not self._pending:
            self._pending = self.receive_batch()
        deliveries = self._pending
        if not deliveries:
            self._settle(wait_until=0)
            return 0
        runnable = [d for d in deliveries if d.problem is None]
        for poison in (d for d in deliveries if d.problem is not None):
            log.warning("skipping a message that names no job: %s", poison.problem)
        futures: list[Future[ProcessOutcome]] = []
        if runnable:
            self._settle(wait_until=1)  # one batch may still be finishing while this one generates
            job_ids = [d.job_id for d in runnable]
            futures = self.process.execute_batch_pipelined(job_ids, self._submit, dispatched_only=True)
        self._finishing.append((deliveries, futures))
        self._pending = []
        if not self.pipelined:
            self._settle(wait_until=0)
        return len(deliveries)

    def _submit(self, step: Callable[[], ProcessOutcome]) -> Future[ProcessOutcome]:
        if not self.pipelined:
            future: Future[ProcessOutcome] = Future()
            try:
                future.set_result(step())
            except Exception as error:
                future.set_exception(error)
            return future
        if self._finisher is None:
            self._finisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="finishing")
        return self._finisher.submit(step)

    def _settle(self, wait_until: int) -> None:
        """Acknowledge finished batches in order; wait while more than `wait_until` are still
        being finished. A batch whose finishing failed (database or store away) is taken again,
        like a failed iteration: its jobs are skipped as already running, then acknowledged."""
        while self._finishing:
            deliveries, futures = self._finishing[0]
            if len(self._finishing) <= wait_until and not all(f.done() for f in futures):
                return
            self._finishing.popleft()
            failed = False
            for future in futures:
                try:
                    outcome = future.result()
                except Exception:
                    log.exception("finishing a batch failed; its deliveries are taken again")
                    failed = True
                    continue
                detail = f" ({outcome.detail})" if outcome.detail else ""
                log.info("job %s: %s%s", outcome.job_id, outcome.status, detail)
            if failed:
                self._pending = deliveries + self._pending
                raise FinishingFailed("a batch could not be finished")
            for delivery in deliveries:
                self._acknowledge(delivery)
            self.processed += len(deliveries)

    def _acknowledge(self, delivery: Delivery) -> None:
        for attempt in range(1, self.ack_attempts + 1):
            try:
                self.queue.acknowledge(delivery)
                return
            except QueueUnavailable as error:
                if attempt == self.ack_attempts:
                    # The outcome is durable: a redelivery finds the job settled and skips it.
                    log.warning("job %s not acknowledged (%s): redelivery skips it", delivery.job_id, error)
                    return
                self.stop_event.wait(self._pause(attempt))

    def _pause(self, failures: int) -> float:
        first, longest = self.backoff_seconds
        return float(min(longest, first * 2 ** (failures - 1)))

    def run(self) -> None:
        """Until `stop_event`: the batch in hand is finished first, then nothing more is taken."""
        failures = 0
        while not self.stop_event.is_set():
            try:
                self.run_once()
                failures = 0
            except Exception:  # one bad iteration must not kill the worker
                failures += 1
                pause = self._pause(failures)
                log.exception("worker iteration failed (%d in a row); retrying in %.1fs", failures, pause)
                self.stop_event.wait(pause)
        try:
            self._settle(wait_until=0)
        except FinishingFailed:
            log.warning("stopping with a batch not finished: its jobs are handed back by recovery")
        if self._finisher is not None:
            self._finisher.shutdown(wait=True)
            self._finisher = None


class Bell(Protocol):
    def ring(self) -> None: ...
    def wait(self, timeout: float) -> bool: ...


class Listener(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


@dataclass
class RelayLoop:
    """Publishes outbox events as soon as they are committed: a transaction that wrote outbox
    rows rings `bell` (in this process directly; from other processes through `listener`, a
    PostgreSQL LISTEN). Without a ring it looks again after `idle_seconds` anyway, which covers
    a lost notification and writers that cannot ring (SQLite in another process)."""

    relay: RelayOutbox
    idle_seconds: float = 0.2
    stop_event: threading.Event = field(default_factory=threading.Event)
    bell: Bell | None = None
    listener: Listener | None = None

    def run(self) -> None:
        if self.listener is not None:
            self.listener.start()
        try:
            while not self.stop_event.is_set():
                try:
                    sent = self.relay.execute()
                except Exception:
                    log.exception("outbox relay iteration failed")
                    sent = 0
                if sent:
                    continue
                if self.bell is not None:
                    self.bell.wait(self.idle_seconds)
                else:
                    self.stop_event.wait(self.idle_seconds)
        finally:
            if self.listener is not None:
                self.listener.stop()


@dataclass
class WebhookLoop:
    """Turns new outbox events into webhook deliveries and sends those whose time has come:
    at once when a commit rings `bell`, and every `idle_seconds` anyway (retries fall due
    without a ring)."""

    route: RouteWebhookEvents
    deliver: DeliverWebhooks
    idle_seconds: float = 1.0
    stop_event: threading.Event = field(default_factory=threading.Event)
    bell: Bell | None = None

    def run_once(self) -> int:
        try:
            return self.route.execute() + self.deliver.execute()
        except Exception:
            log.exception("webhook iteration failed")
            return 0

    def run(self) -> None:
        while not self.stop_event.is_set():
            if self.run_once():
                continue
            if self.bell is not None:
                self.bell.wait(self.idle_seconds)
            else:
                self.stop_event.wait(self.idle_seconds)


@dataclass
class RecoveryLoop:
    """Re-queues jobs whose lease expired (their worker stopped renewing). It wakes when the
    earliest lease ends, and at least every `every_seconds`, so a job is handed back moments
    after its lease, not up to a whole interval later."""

    recover: RecoverStalledJobs
    every_seconds: float = 30.0
    stop_event: threading.Event = field(default_factory=threading.Event)
    shortest_pause: float = 0.2

    def _pause(self) -> float:
        try:
            expiry = self.recover.next_expiry()
        except Exception:
            return self.every_seconds  # the database is away: the next pass will say so
        if expiry is None:
            return self.every_seconds
        left = (expiry - self.recover.clock.now()).total_seconds() + 0.05
        return min(self.every_seconds, max(self.shortest_pause, left))

    def run(self) -> None:
        while not self.stop_event.wait(self._pause()):
            try:
                requeued, failed = self.recover.execute()
                if requeued or failed:
                    log.warning("jobs whose lease expired: %d re-queued, %d failed", requeued, failed)
            except Exception:
                log.exception("stalled-job recovery failed")


@dataclass
class DispatcherLoop:
    """The dispatcher of this process, when it is the one (`leadership`): a round of
    `dispatch` whenever a commit rings `bell` (a job started, finished, or was requested: a
    worker may have room) and at least every `idle_seconds`. A process that is not the dispatcher
    looks every `standby_seconds` whether it may become it (the one before it died)."""

    dispatch: DispatchJobs
    leadership: Leadership
    bell: Bell | None = None
    idle_seconds: float = 0.5
    standby_seconds: float = 1.0
    stop_event: threading.Event = field(default_factory=threading.Event)
    leading: bool = False

    def run_once(self) -> int:
        leading = self.leadership.hold()
        if leading != self.leading:
            log.info("dispatcher: %s", "this process dispatches now" if leading else "standing by")
            self.leading = leading
        return self.dispatch.execute() if leading else 0

    def run(self) -> None:
        try:
            while not self.stop_event.is_set():
                try:
                    sent = self.run_once()
                except Exception:
                    log.exception("dispatcher round failed")
                    sent = 0
                if sent:
                    continue
                pause = self.idle_seconds if self.leading else self.standby_seconds
                if self.bell is not None and self.leading:
                    self.bell.wait(pause)
                else:
                    self.stop_event.wait(pause)
        finally:
            self.leadership.release()


@dataclass
class SeatLoop:
    """Tells the dispatcher, every `every_seconds`, that this worker takes jobs: how many may be
    dispatched to it ahead (`capacity`) and which partitions of the transport it reads now; on
    stop it gives its seat up, so nothing more is aimed at it."""

    seats: ManageQueue
    worker_id: str
    capacity: int
    partitions: Callable[[], Mapping[str, tuple[int, ...]] | None]
    every_seconds: float = 2.0
    stop_event: threading.Event = field(default_factory=threading.Event)

    def beat(self) -> None:
        self.seats.seat(self.worker_id, self.capacity, self.partitions())

    def run(self) -> None:
        try:
            while True:
                try:
                    self.beat()
                except Exception:
                    log.exception("worker seat not recorded")
                if self.stop_event.wait(self.every_seconds):
                    break
        finally:
            try:
                self.seats.unseat(self.worker_id)
            except Exception:
                log.warning("worker seat not given up: the dispatcher drops it when it goes stale")
