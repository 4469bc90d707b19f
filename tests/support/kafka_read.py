"""Reading topics with a plain confluent-kafka consumer, as any other service would."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, cast

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition


@dataclass(frozen=True)
class Record:
    key: str
    body: dict[str, Any]
    headers: dict[str, bytes]
    partition: int
    offset: int


def to_record(message: Message) -> Record:
    return Record(
        key=(message.key() or b"").decode(),
        body=json.loads(message.value() or b"null"),
        headers={
            k: v for k, v in cast("list[tuple[str, bytes | None]]", message.headers() or []) if v is not None
        },
        partition=message.partition() or 0,
        offset=message.offset() or 0,
    )


def reader(config: dict[str, Any], topic: str, deadline: float) -> Consumer:
    """A consumer assigned to every partition of `topic` from the start, outside any group. A
    topic that does not exist yet (its first record may still be on its way) is waited for."""
    consumer = Consumer({**config, "group.id": f"reader-{uuid.uuid4().hex}", "enable.auto.commit": False})
    while True:
        found = consumer.list_topics(topic, timeout=10).topics[topic]
        if found.error is None and found.partitions:
            break
        if time.monotonic() > deadline:
            consumer.close()
            raise AssertionError(f"topic {topic} does not exist: {found.error}")
        time.sleep(0.2)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in found.partitions])
    return consumer


def read_topic(config: dict[str, Any], topic: str, count: int, timeout: float = 30.0) -> list[Record]:
    """The first `count` records of `topic`, read from every partition without joining a group
    (fails if they do not arrive in time)."""
    deadline = time.monotonic() + timeout
    consumer = reader(config, topic, deadline)
    records: list[Record] = []
    try:
        while len(records) < count and time.monotonic() < deadline:
            for message in consumer.consume(count - len(records), 0.5):
                if message.error() is not None:
                    continue
                records.append(to_record(message))
    finally:
        consumer.close()
    assert len(records) >= count, f"{topic}: {len(records)} of {count} records arrived in {timeout}s"
    return records


def read_until_quiet(
    config: dict[str, Any], topic: str, quiet: float = 2.0, timeout: float = 30.0
) -> list[Record]:
    """Every record of `topic`: reads until nothing new arrives for `quiet` seconds."""
    records: list[Record] = []
    deadline = time.monotonic() + timeout
    consumer = reader(config, topic, deadline)
    last = time.monotonic()
    try:
        while time.monotonic() - last < quiet and time.monotonic() < deadline:
            for message in consumer.consume(100, 0.2):
                if message.error() is None:
                    last = time.monotonic()
                    records.append(to_record(message))
    finally:
        consumer.close()
    return records


def committed_total(config: dict[str, Any], topic: str) -> int:
    """The sum of the group's committed offsets over the topic's partitions (config names the group)."""
    consumer = Consumer(config)
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        positions = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        return sum(max(0, p.offset) for p in positions)
    finally:
        consumer.close()
