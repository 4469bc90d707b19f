"""Every replica of the API sees every job event: a consumer of its own (its own group, never
committing) on the requests, outcomes and progress topics, handing each event to this
process's live watchers. Workers run in other processes; this is how their progress and
outcomes reach the user's open event stream, whichever replica holds it."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message

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
        self.received = 0

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._since = self.now()
        self._thread = threading.Thread(target=self._run, name="live-event-feed", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        consumer = Consumer(self._config)
        try:
            consumer.subscribe(self.topics.all())
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

    def _handle(self, message: Message) -> None:
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("live-event feed: %s", error)
            return
        event = decode(message.value())
        if event is None or event.occurred_at < self._since - REPLAY_SLACK:
            return
        self.received += 1
        try:
            self.sink.publish(event)
        except Exception:  # a watcher's trouble must not stop the feed for everyone
            log.exception("live event not delivered")
