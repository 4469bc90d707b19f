"""librdkafka settings from our configuration: the bootstrap servers plus any extras.

Extras come as a JSON object (NEXUS_IMAGE_KAFKA_CLIENT_CONFIG) so operators can set security,
timeouts or a group id without code changes, and so a Kafka-compatible broker that needs
different timings is a configuration matter, not a code path. One object serves producers,
consumers and the admin client: each gets only the properties that apply to it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

CONSUMER_ONLY = frozenset(
    {
        "group.id",
        "group.instance.id",
        "group.protocol",
        "group.remote.assignor",
        "partition.assignment.strategy",
        "session.timeout.ms",
        "heartbeat.interval.ms",
        "max.poll.interval.ms",
        "coordinator.query.interval.ms",
        "enable.auto.commit",
        "auto.commit.interval.ms",
        "enable.auto.offset.store",
        "auto.offset.reset",
        "queued.min.messages",
        "queued.max.messages.kbytes",
        "fetch.wait.max.ms",
        "fetch.queue.backoff.ms",
        "fetch.message.max.bytes",
        "max.partition.fetch.bytes",
        "fetch.max.bytes",
        "fetch.min.bytes",
        "fetch.error.backoff.ms",
        "isolation.level",
        "enable.partition.eof",
        "check.crcs",
    }
)
PRODUCER_ONLY = frozenset(
    {
        "acks",
        "request.required.acks",
        "enable.idempotence",
        "transactional.id",
        "transaction.timeout.ms",
        "message.timeout.ms",
        "delivery.timeout.ms",
        "linger.ms",
        "queue.buffering.max.ms",
        "queue.buffering.max.messages",
        "queue.buffering.max.kbytes",
        "batch.num.messages",
        "batch.size",
        "compression.type",
        "compression.codec",
        "message.send.max.retries",
        "retries",
        "retry.backoff.ms",
        "partitioner",
        "sticky.partitioning.linger.ms",
    }
)


def client_config(bootstrap_servers: str, extra_json: str | None = None) -> dict[str, Any]:
    extra: Any = json.loads(extra_json) if extra_json else {}
    if not isinstance(extra, dict):
        raise ValueError("the Kafka client configuration must be a JSON object")
    return {"bootstrap.servers": bootstrap_servers, **extra}


def for_producer(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in CONSUMER_ONLY}


def for_consumer(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in PRODUCER_ONLY}


def for_admin(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in CONSUMER_ONLY | PRODUCER_ONLY}
