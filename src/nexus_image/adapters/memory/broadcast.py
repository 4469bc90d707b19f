"""Live job events fanned out, in this process, to whoever is watching each user's jobs."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence

from nexus_image.application.errors import QueueUnavailable
from nexus_image.application.ports import BatchEventPublisher, EventPublisher
from nexus_image.domain.events import DomainEvent

DEFAULT_BUFFER = 1000
REMEMBERED_EVENT_IDS = 10_000


class Subscription:
    """One watcher's events, in order. The buffer is bounded: a watcher that stops reading
    loses its oldest events (counted in `dropped`) instead of growing memory without end.
    Events arrive from any thread; `next_batch` waits for them on the watcher's event loop."""

    def __init__(
        self, user_id: str, buffer: int, on_close: Callable[[Subscription], None], stream: bool = True
    ) -> None:
        self.user_id = user_id
        self.stream = stream  # an event stream the user holds (else a request waiting for its jobs)
        self._on_close = on_close
        self.dropped = 0
        self._items: deque[DomainEvent] = deque(maxlen=buffer)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready: asyncio.Event | None = None

    def push(self, event: DomainEvent) -> None:
        with self._lock:
            if len(self._items) == self._items.maxlen:
                self.dropped += 1
            self._items.append(event)
            loop, ready = self._loop, self._ready
        if loop is not None and ready is not None and not loop.is_closed():
            loop.call_soon_threadsafe(ready.set)

    def close(self) -> None:
        self._on_close(self)

    def drain(self) -> list[DomainEvent]:
        """Everything buffered so far, oldest first; the buffer is left empty."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
            if self._ready is not None:
                self._ready.clear()
        return items

    async def next_batch(self, timeout: float) -> list[DomainEvent]:
        """What arrived since the last call, waiting up to `timeout` seconds for something."""
        with self._lock:
            if self._ready is None:
                self._loop, self._ready = asyncio.get_running_loop(), asyncio.Event()
            ready = self._ready
            if self._items:
                ready.set()
        try:
            await asyncio.wait_for(ready.wait(), timeout)
        except TimeoutError:
            return []
        return self.drain()


class LiveEventBroadcaster:
    """An EventPublisher that hands each event to the subscriptions of the event's user, and to
    nobody else. Publishing never blocks and never fails: live events are advisory, the
    job's state in the database is the truth. An event id seen recently is dropped, because
    the outbox relay delivers at least once."""

    def __init__(self, buffer: int = DEFAULT_BUFFER) -> None:
        self.buffer = buffer
        self._subscribers: dict[str, set[Subscription]] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def subscribe(self, user_id: str, stream: bool = True) -> Subscription:
        subscription = Subscription(user_id, self.buffer, self.unsubscribe, stream)
        with self._lock:
            self._subscribers.setdefault(user_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            mine = self._subscribers.get(subscription.user_id)
            if mine is not None:
                mine.discard(subscription)
                if not mine:
                    del self._subscribers[subscription.user_id]

    def subscriber_count(self, user_id: str) -> int:
        with self._lock:
            return sum(1 for s in self._subscribers.get(user_id, ()) if s.stream)

    def publish(self, event: DomainEvent) -> None:
        with self._lock:
            if event.event_id in self._seen:
                return
            self._seen[event.event_id] = None
            if len(self._seen) > REMEMBERED_EVENT_IDS:
                self._seen.popitem(last=False)
            targets = list(self._subscribers.get(event.user_id, ()))
        for subscription in targets:
            subscription.push(event)


class TeePublisher:
    """Publishes to `primary` (the job queue or broker) and, once that succeeded, to the
    `watchers`. A primary failure propagates, so the outbox keeps the event for the next try
    and watchers never hear of something the queue did not take."""

    def __init__(self, primary: EventPublisher, *watchers: EventPublisher) -> None:
        self.primary = primary
        self.watchers = watchers

    def publish(self, event: DomainEvent) -> None:
        self.primary.publish(event)
        for watcher in self.watchers:
            watcher.publish(event)

    def publish_batch(self, events: Sequence[DomainEvent]) -> int:
        """The primary's batch publishing where it has one (else one by one); watchers hear of
        the events it took."""
        if isinstance(self.primary, BatchEventPublisher):
            taken = self.primary.publish_batch(events)
        else:
            taken = 0
            for event in events:
                try:
                    self.primary.publish(event)
                except QueueUnavailable:
                    break
                taken += 1
        for event in events[:taken]:
            for watcher in self.watchers:
                watcher.publish(event)
        return taken
