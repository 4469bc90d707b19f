"""Every replica of the API sees every job event: a consumer of its own (its own group, never
committing) on the requests, outcomes and progress topics, handing each event to this
process's live watchers. Workers run in other processes; this is how their progress and
outcomes reach the user's open event stream, whichever replica holds it.

The feed keeps its own place in each partition. A broker outage longer than the session
timeout makes the group hand its partitions out again, and a group that never commits would
then start over wherever `auto.offset.reset` says: at the end, losing every event of the
outage to the streams open meanwhile, or at the beginning, replaying everything since the
feed started. On each assignment it goes on after the last event it handed over instead; a
partition it never read starts at the feed's own start (by the events' timestamps)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from nexus_image.adapters.kafka.config import for_consumer
from nexus_image.adapters.kafka.topics import Topics
from nexus_image.application.ports import EventPublisher
from nexus_image.domain.events import SCHEMA_VERSION, DomainEvent, event_from_dict

log = logging.getLogger(__name__)

# A new group may start at the beginning of the topics (where `latest` is not honoured): older
# events than this, before the feed started, are history nobody is watching any more.
REPLAY_SLACK = timedelta(seconds=60)


def decode(value: bytes | None) -> DomainEvent | None:
    """The event a message carries; None for anything this version cannot read."""
    if value is None:
        return None
    try:
        body: Any = json.loads(value)
        if not isinstance(body, dict) or int(body.get("schema_version", 0)) > SCHEMA_VERSION:
            return None
        return event_from_dict(body)
    except (ValueError, KeyError, TypeError):
        return None


class KafkaEventFeed:
    """Started and stopped with the API. Events go to `sink` (the live-event broadcaster, which
    drops the duplicates that at-least-once delivery brings)."""

    def __init__(
        self,
        config: Mapping[str, Any],
        topics: Topics,
        sink: EventPublisher,
        group_id: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        poll_seconds: float = 0.5,
    ) -> None:
        self.topics = topics
        self.sink = sink
        self.now = now
        self.poll_seconds = poll_seconds
        self._config: dict[str, Any] = {
            "auto.offset.reset": "latest",  # only what happens from now on
            **for_consumer(config),
            "group.id": group_id,  # never the workers' group: every replica must see everything
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
        }
        self._config.setdefault("logger", log)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._since = now()
        self._next: dict[tuple[str, int], int] = {}  # (topic, partition) -> offset to read next
        self.received = 0

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._since = self.now()
        self._next.clear()
        self._thread = threading.Thread(target=self._run, name="live-event-feed", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        consumer = Consumer(self._config)
        try:
            consumer.subscribe(self.topics.all(), on_assign=self._resume)
            while not self._stop.is_set():
                try:
                    message = consumer.poll(self.poll_seconds)
                except KafkaException as error:
                    log.warning("live-event feed: %s", error)
                    self._stop.wait(1.0)
                    continue
                if message is not None:
                    self._handle(message)
        finally:
            consumer.close()

    def _resume(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Each partition handed to the feed starts after the last event the feed read from
        it; one it never read, at the first event since the feed started (less the slack)."""
        unread = [p for p in partitions if (p.topic, p.partition) not in self._next]
        for p in partitions:
            p.offset = self._next.get((p.topic, p.partition), p.offset)
        if unread:
            stamp = int((self._since - REPLAY_SLACK).timestamp() * 1000)
            wanted = [TopicPartition(p.topic, p.partition, stamp) for p in unread]
            try:
                # the ends first: an event written after that read is past them, never skipped
                ends = [consumer.get_watermark_offsets(p, timeout=5.0)[1] for p in unread]
                found = consumer.offsets_for_times(wanted, timeout=5.0)
            except KafkaException as error:  # the reset policy decides, as without this
                log.warning("live-event feed: no offsets by time (%s)", error)
            else:
                for p, at, end in zip(unread, found, ends, strict=True):
                    p.offset = at.offset if at.error is None and at.offset >= 0 else end
        consumer.assign(partitions)

    def _handle(self, message: Message) -> None:
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("live-event feed: %s", error)
            return
        self._next[(str(message.topic()), int(message.partition() or 0))] = int(message.offset() or 0) + 1
        event = decode(message.value())
        if event is None or event.occurred_at < self._since - REPLAY_SLACK:
            return
        self.received += 1
        try:
            self.sink.publish(event)
        except Exception:  # a watcher's trouble must not stop the feed for everyone
            log.exception("live event not delivered")
