"""Publishing events to Kafka: durably for the outbox relay, fire-and-forget for live progress."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from nexus_image.adapters.kafka.config import for_producer
from nexus_image.adapters.kafka.messages import EncodedEvent, encode
from nexus_image.adapters.kafka.topics import Topics
from nexus_image.application.errors import QueueUnavailable
from nexus_image.domain.events import DomainEvent

log = logging.getLogger(__name__)


def durable_producer_config(config: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """acks=all + idempotence: a retried send never duplicates or reorders a partition's
    records. A message not acknowledged within `timeout` fails instead of lingering in the
    client's queue, so the outbox (not librdkafka's memory) stays the one place it waits; and
    a returning broker is noticed within seconds, not after librdkafka's 10 s reconnect backoff."""
    return {
        "reconnect.backoff.max.ms": 2000,
        **for_producer(config),
        "acks": "all",
        "enable.idempotence": True,
        "message.timeout.ms": max(1000, int(timeout * 1000)),
    }


UNASSIGNED = -1  # librdkafka's "no partition given": the key's, by the partitioner


def _aimed(message: EncodedEvent) -> int:
    """The partition a dispatch is aimed at (a worker with room reads it); else the key's."""
    return UNASSIGNED if message.partition is None else message.partition


class KafkaEventPublisher:
    """The EventPublisher the outbox relay uses. `publish` returns only once the broker has
    acknowledged the event; otherwise it raises QueueUnavailable and the event stays pending.
    A producer that failed (an outage, a fatal error) is replaced on the next call. The wait
    is `timeout`, else the configured `message.timeout.ms`, else 10 s."""

    def __init__(self, config: Mapping[str, Any], topics: Topics, timeout: float | None = None) -> None:
        self.topics = topics
        if timeout is None:
            timeout = float(config.get("message.timeout.ms", 10_000)) / 1000
        self.timeout = timeout
        self._config = durable_producer_config(config, timeout)
        self._config.setdefault("logger", log)
        self._config["error_cb"] = self._on_error
        self._producer: Producer | None = None
        self._broken = False
        self._lock = threading.Lock()

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            self._broken = True
        log.warning("kafka producer: %s", error)

    def _current(self) -> Producer:
        if self._producer is not None and self._broken:
            try:
                self._producer.purge()
            except Exception as error:  # the old producer is being dropped whatever it says
                log.debug("purging a broken producer: %s", error)
            self._producer = None
        if self._producer is None:
            self._broken = False
            self._producer = Producer(self._config)
        return self._producer

    def publish(self, event: DomainEvent) -> None:
        message = encode(event)
        failures: list[KafkaError] = []

        def on_delivery(error: KafkaError | None, _msg: Message) -> None:
            if error is not None:
                failures.append(error)

        with self._lock:
            producer = self._current()
            try:
                producer.produce(
                    self.topics.for_event(event),
                    key=message.key,
                    value=message.value,
                    headers=message.headers,
                    on_delivery=on_delivery,
                    partition=_aimed(message),
                )
                left = producer.flush(self.timeout + 1.0)
            except Exception as error:  # KafkaException, BufferError, fatal errors raised via callbacks
                self._broken = True
                raise QueueUnavailable(f"cannot publish {event.event_type}: {error}") from error
            if left or failures:
                # A fresh producer next time: one that failed may hold idempotence state the
                # broker no longer recognises (and would retry it forever).
                self._broken = True
                reason = failures[0].str() if failures else f"no acknowledgement in {self.timeout}s"
                raise QueueUnavailable(f"cannot publish {event.event_type}: {reason}")

    def publish_batch(self, events: Sequence[DomainEvent]) -> int:
        """All of `events` produced, then one flush: the broker acknowledges them together.
        Returns how many, from the first, were acknowledged (partitions deliver in order, so a
        failure part-way leaves a prefix; what follows is sent again, never reordered)."""
        delivered: list[bool | None] = [None] * len(events)  # None: no report (yet)

        def on_delivery(index: int) -> Callable[[KafkaError | None, Message], None]:
            def report(error: KafkaError | None, _msg: Message) -> None:
                delivered[index] = error is None

            return report

        with self._lock:
            producer = self._current()
            try:
                for index, event in enumerate(events):
                    message = encode(event)
                    producer.produce(
                        self.topics.for_event(event),
                        key=message.key,
                        value=message.value,
                        headers=message.headers,
                        on_delivery=on_delivery(index),
                        partition=_aimed(message),
                    )
                producer.flush(self.timeout + 1.0)
            except Exception as error:  # a full local queue, a fatal error: keep what was taken
                self._broken = True
                log.warning("publishing a batch of %d events stopped: %s", len(events), error)
            taken = next((i for i, ok in enumerate(delivered) if ok is not True), len(events))
            if taken < len(events):
                self._broken = True  # a fresh producer next time, as after a failed publish
            return taken

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.flush(self.timeout)


class KafkaLivePublisher:
    """Progress events straight to the progress topic, never blocking generation: they are
    advisory (the outcome travels through the outbox), so one lost while the broker is away
    does no harm."""

    def __init__(self, config: Mapping[str, Any], topics: Topics) -> None:
        self.topics = topics
        conf: dict[str, Any] = {
            **for_producer(config),
            "acks": "1",
            "enable.idempotence": False,  # a lost progress event is harmless; a slow one is not
            "message.timeout.ms": 5000,
        }
        conf.setdefault("logger", log)
        self._producer = Producer(conf)

    def publish(self, event: DomainEvent) -> None:
        message = encode(event)
        try:
            self._producer.produce(
                self.topics.for_event(event), key=message.key, value=message.value, headers=message.headers
            )
        except (KafkaException, BufferError) as error:
            log.debug("progress event dropped: %s", error)
        self._producer.poll(0)

    def close(self) -> None:
        self._producer.flush(2.0)
