"""The worker side of Kafka: a consumer group on the requests topic with manual commits.

An offset is committed only when the worker acknowledges the delivery, after the job's outcome
is durable in the database. A worker that dies (or leaves) before that lets the group hand the
message to another member; the use case skips jobs already past QUEUED, so redelivery is safe."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from nexus_image.adapters.kafka.config import for_consumer
from nexus_image.adapters.kafka.messages import PoisonMessage, requested_job_id
from nexus_image.application.errors import QueueUnavailable
from nexus_image.application.ports import Delivery

log = logging.getLogger(__name__)

DEFAULT_GROUP = "nexus-image-workers"

# The partition went to another member since the message was read: that member will get the
# message again, and skip or finish the job. Nothing to retry here.
_MOVED = frozenset(
    {
        KafkaError.UNKNOWN_MEMBER_ID,
        KafkaError.ILLEGAL_GENERATION,
        KafkaError.REBALANCE_IN_PROGRESS,
        KafkaError._ASSIGNMENT_LOST,
        KafkaError._NO_OFFSET,
    }
)


@dataclass(frozen=True, slots=True)
class Position:
    topic: str
    partition: int
    offset: int


def consumer_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Offsets are committed by `acknowledge` only; a new group starts from the oldest request
    (skipping queued jobs would lose them)."""
    conf = {"group.id": DEFAULT_GROUP, "auto.offset.reset": "earliest", **for_consumer(config)}
    conf.update({"enable.auto.commit": False, "enable.auto.offset.store": False})
    conf.setdefault("logger", log)
    return conf


class KafkaJobQueue:
    """The JobQueue port. The consumer joins its group lazily, on the first `receive`, so a
    process that only publishes (the API) never becomes a member that takes partitions.

    `topics` maps each model this worker serves to its requests topic ("" for the plain topic
    of jobs that name no model): members of one group subscribed to different topics share each
    topic among those subscribed to it, so a model's jobs only reach workers that serve it."""

    def __init__(self, config: Mapping[str, Any], topics: str | Mapping[str, str]) -> None:
        self.topics = {"": topics} if isinstance(topics, str) else dict(topics)
        self._models = {topic: model for model, topic in self.topics.items()}
        self._config = consumer_config(config)
        self._consumer: Consumer | None = None
        self._lock = threading.Lock()

    @property
    def topic(self) -> str:
        """The plain requests topic (or the only one)."""
        return self.topics.get("", next(iter(self.topics.values())))

    def _joined(self) -> Consumer:
        if self._consumer is None:
            self._consumer = Consumer(self._config)
            self._consumer.subscribe(sorted(self.topics.values()))
        return self._consumer

    def receive(self, max_items: int, timeout: float) -> list[Delivery]:
        """Waits up to `timeout` for one message, then takes what is already fetched, up to
        `max_items` in all."""
        with self._lock:
            consumer = self._joined()
            try:
                messages = consumer.consume(1, timeout)
                if messages and max_items > 1:
                    messages += consumer.consume(max_items - 1, 0)
            except KafkaException as error:
                raise QueueUnavailable(f"cannot read {', '.join(self.topics.values())}: {error}") from error
        return [d for d in map(self._delivery, messages) if d is not None]

    def _delivery(self, message: Message) -> Delivery | None:
        error = message.error()
        if error is not None:
            if error.fatal():
                raise QueueUnavailable(f"consumer failed: {error}")
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("kafka consumer: %s", error)
            return None
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        assert topic is not None and partition is not None and offset is not None
        position = Position(topic, partition, offset)
        try:
            return Delivery(requested_job_id(message.value()), position)
        except PoisonMessage as poison:
            return Delivery("", position, problem=f"{poison} at {topic}[{partition}]@{offset}")

    def partitions(self) -> dict[str, tuple[int, ...]]:
        """Per model served ("" for the plain topic), the partitions of its requests topic this
        member reads now (none before it joined)."""
        found: dict[str, list[int]] = {model: [] for model in self.topics}
        with self._lock:
            if self._consumer is None:
                return dict.fromkeys(self.topics, ())
            try:
                assigned = self._consumer.assignment()
            except KafkaException:
                return dict.fromkeys(self.topics, ())
        for tp in assigned:
            model = self._models.get(tp.topic)
            if model is not None:
                found[model].append(tp.partition)
        return {model: tuple(sorted(parts)) for model, parts in found.items()}

    def acknowledge(self, delivery: Delivery) -> None:
        """Commits the offset after this delivery, synchronously: when this returns, a restart
        resumes after it."""
        if not isinstance(delivery.handle, Position):
            raise ValueError("not a delivery of this queue")
        p = delivery.handle
        with self._lock:
            consumer = self._joined()
            try:
                next_offset = TopicPartition(p.topic, p.partition, p.offset + 1)
                consumer.commit(offsets=[next_offset], asynchronous=False)
            except KafkaException as error:
                code = error.args[0].code() if error.args else None
                if code in _MOVED:
                    log.info("offset %s not committed (partition moved): it will be redelivered", p)
                    return
                raise QueueUnavailable(f"cannot commit {p}: {error}") from error

    def close(self) -> None:
        """Leave the group now, so its partitions (and any unacknowledged messages) go to the
        other members at once instead of after the session timeout."""
        with self._lock:
            if self._consumer is not None:
                self._consumer.close()
                self._consumer = None
