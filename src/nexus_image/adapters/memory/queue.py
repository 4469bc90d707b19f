"""The in-process job queue: the outbox relay publishes into it and workers take from it."""

from __future__ import annotations

import queue
import threading

from nexus_image.application.ports import Delivery
from nexus_image.domain.events import DomainEvent, GenerationDispatched


class InMemoryQueue:
    """An EventPublisher (dispatches become deliveries; other events are kept for listeners) and
    a JobQueue. Unacknowledged deliveries are redelivered by `redeliver_unacknowledged`, as a
    broker would after a consumer dies."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[str] = queue.Queue()
        self._in_flight: dict[int, str] = {}
        self._seen: set[str] = set()
        self._next = 0
        self._lock = threading.Lock()
        self.events: list[DomainEvent] = []

    def publish(self, event: DomainEvent) -> None:
        with self._lock:
            if event.event_id in self._seen:
                return  # the relay is at-least-once; drop duplicates by event id
            self._seen.add(event.event_id)
            self.events.append(event)
        if isinstance(event, GenerationDispatched):
            self._jobs.put(event.job_id)

    def receive(self, max_items: int, timeout: float) -> list[Delivery]:
        items: list[Delivery] = []
        try:
            job_id = self._jobs.get(timeout=timeout)
        except queue.Empty:
            return items
        while True:
            with self._lock:
                self._next += 1
                self._in_flight[self._next] = job_id
                items.append(Delivery(job_id, self._next))
            if len(items) >= max_items:
                return items
            try:
                job_id = self._jobs.get_nowait()
            except queue.Empty:
                return items

    def acknowledge(self, delivery: Delivery) -> None:
        with self._lock:
            if isinstance(delivery.handle, int):
                self._in_flight.pop(delivery.handle, None)

    def redeliver_unacknowledged(self) -> int:
        with self._lock:
            pending = list(self._in_flight.values())
            self._in_flight.clear()
        for job_id in pending:
            self._jobs.put(job_id)
        return len(pending)

    def partitions(self) -> None:
        """One queue, no partitions: whatever is dispatched reaches whoever receives."""
        return None

    def size(self) -> int:
        return self._jobs.qsize()
