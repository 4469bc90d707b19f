"""The Kafka adapters against a real Kafka-protocol broker (Tansu)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from nexus_image.adapters.kafka import (
    KafkaEventPublisher,
    KafkaJobQueue,
    KafkaLivePublisher,
    Topics,
    ensure_topics,
)
from nexus_image.application.errors import QueueUnavailable
from nexus_image.application.ports import Delivery
from nexus_image.domain.events import (
    GenerationCompleted,
    GenerationDispatched,
    GenerationProgress,
    GenerationRequested,
    GenerationStarted,
)
from tests.support.kafka_read import read_topic
from tests.support.tansu import TansuBroker

pytestmark = pytest.mark.integration
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def requested(job_id: str, n: int = 0) -> GenerationDispatched:
    """A job for the workers, as the scheduler hands it out (unaimed: the key's partition)."""
    return GenerationDispatched(event_id=f"ev-{job_id}-{n}", job_id=job_id, user_id="alice", occurred_at=NOW)


def publish_eventually(publisher: KafkaEventPublisher, event: GenerationDispatched) -> None:
    """As the outbox relay does: try again until the broker takes it."""
    deadline = time.monotonic() + 20
    while True:
        try:
            publisher.publish(event)
            return
        except QueueUnavailable:
            if time.monotonic() > deadline:
                raise


def committed(config: dict[str, object], topic: str) -> int:
    """The group's committed offset on partition 0."""
    consumer = Consumer(config)
    try:
        [position] = consumer.committed([TopicPartition(topic, 0)], timeout=10)
        return int(position.offset)
    finally:
        consumer.close()


def receive_all(queue: KafkaJobQueue, count: int, timeout: float = 20.0) -> list[Delivery]:
    got: list[Delivery] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        got += queue.receive(count - len(got), 0.5)
    return got


def test_events_are_routed_keyed_by_job_and_ordered_per_job(kafka: TansuBroker, kafka_prefix: str) -> None:
    topics = Topics(kafka_prefix)
    config = kafka.client_config()
    assert sorted(ensure_topics(config, topics.all(), partitions=3)) == sorted(topics.all())
    assert ensure_topics(config, topics.all(), partitions=3) == []  # idempotent
    publisher = KafkaEventPublisher(config, topics)
    publisher.publish(requested("job-a"))
    publisher.publish(requested("job-b"))
    for step in range(1, 6):
        for job in ("job-a", "job-b"):
            publisher.publish(
                GenerationProgress(
                    event_id=f"p-{job}-{step}",
                    job_id=job,
                    user_id="alice",
                    occurred_at=NOW,
                    step=step,
                    total_steps=5,
                )
            )
    publisher.publish(
        GenerationCompleted(
            event_id="done-a", job_id="job-a", user_id="alice", occurred_at=NOW, image_key="k"
        )
    )
    publisher.close()

    [done] = read_topic(config, topics.completed, 1)
    assert done.key == "job-a"
    assert done.headers["event_id"] == b"done-a"
    assert done.body["event_type"] == "generation.completed"
    assert done.body["schema_version"] == 1
    assert done.body["image_key"] == "k"
    requests = read_topic(config, topics.requests, 2)
    assert {r.key for r in requests} == {"job-a", "job-b"}
    assert all(r.headers["event_type"] == b"generation.dispatched" for r in requests)
    progress = read_topic(config, topics.progress, 10)
    for job in ("job-a", "job-b"):
        mine = [r for r in progress if r.key == job]
        assert len({r.partition for r in mine}) == 1  # one key, one partition
        assert [r.body["step"] for r in sorted(mine, key=lambda r: r.offset)] == [1, 2, 3, 4, 5]


def test_a_dispatch_lands_on_the_partition_it_is_aimed_at(kafka: TansuBroker, kafka_prefix: str) -> None:
    topics = Topics(kafka_prefix)
    config = kafka.client_config()
    ensure_topics(config, topics.all(), partitions=3)
    publisher = KafkaEventPublisher(config, topics)
    aimed = [
        GenerationDispatched(
            event_id=f"d-{i}", job_id=f"job-{i}", user_id="u", occurred_at=NOW, worker_id="w", partition=i % 3
        )
        for i in range(6)
    ]
    assert publisher.publish_batch(aimed[:3]) == 3
    for event in aimed[3:]:
        publisher.publish(event)
    publisher.publish(GenerationRequested(event_id="q", job_id="job-q", user_id="u", occurred_at=NOW))
    publisher.close()
    records = read_topic(config, topics.requests, 6)
    assert sorted((r.key, r.partition) for r in records) == [(f"job-{i}", i % 3) for i in range(6)]
    [accepted] = read_topic(config, topics.progress, 1)  # a request's acceptance is news, not a job
    assert accepted.body["event_type"] == "generation.requested"


def test_started_and_progress_go_to_the_progress_topic(kafka: TansuBroker, kafka_prefix: str) -> None:
    topics = Topics(kafka_prefix)
    publisher = KafkaEventPublisher(kafka.client_config(), topics)
    publisher.publish(GenerationStarted(event_id="s1", job_id="j", user_id="u", occurred_at=NOW))
    [record] = read_topic(kafka.client_config(), topics.progress, 1)
    assert record.body["event_type"] == "generation.started"


def test_a_restarted_consumer_resumes_after_the_committed_offset(
    kafka: TansuBroker, kafka_prefix: str
) -> None:
    topics = Topics(kafka_prefix)
    config = kafka.client_config(**{"group.id": kafka_prefix + "workers"})
    ensure_topics(config, [topics.requests], partitions=1)
    publisher = KafkaEventPublisher(config, topics)
    for job in ("j1", "j2", "j3", "j4"):
        publisher.publish(requested(job))

    first = KafkaJobQueue(config, topics.requests)
    got = receive_all(first, 4)
    assert [d.job_id for d in got] == ["j1", "j2", "j3", "j4"]
    first.acknowledge(got[0])
    first.acknowledge(got[1])
    first.close()

    second = KafkaJobQueue(config, topics.requests)
    again = receive_all(second, 2)
    assert [d.job_id for d in again] == ["j3", "j4"]
    for delivery in again:
        second.acknowledge(delivery)
    second.close()

    assert committed(config, topics.requests) == 4  # a third member would start after j4


def test_poison_messages_are_returned_as_problems_and_committed(
    kafka: TansuBroker, kafka_prefix: str
) -> None:
    topics = Topics(kafka_prefix)
    config = kafka.client_config(**{"group.id": kafka_prefix + "workers"})
    ensure_topics(config, [topics.requests], partitions=1)
    raw = Producer({"bootstrap.servers": kafka.bootstrap})
    raw.produce(topics.requests, value=b"\x00 not json")
    raw.produce(topics.requests, value=b'{"event_type": "generation.completed", "job_id": "x"}')
    raw.produce(topics.requests, value=b'{"event_type": "generation.requested", "schema_version": 1}')
    raw.produce(topics.requests, value=b"[1, 2]")
    raw.flush(10)
    KafkaEventPublisher(config, topics).publish(requested("good"))

    queue = KafkaJobQueue(config, topics.requests)
    got = receive_all(queue, 5)
    problems = [d.problem for d in got[:4]]
    assert all(p is not None for p in problems)
    assert "not JSON" in str(problems[0])
    assert "unexpected event type" in str(problems[1])
    assert "no job id" in str(problems[2])
    assert got[4].job_id == "good" and got[4].problem is None
    for delivery in got:
        queue.acknowledge(delivery)
    queue.close()
    assert committed(config, topics.requests) == 5


def test_publish_raises_queue_unavailable_while_the_broker_is_down(private_broker: TansuBroker) -> None:
    topics = Topics("outage.")
    publisher = KafkaEventPublisher(private_broker.client_config(), topics, timeout=1.0)
    began = time.monotonic()
    with pytest.raises(QueueUnavailable):
        publisher.publish(requested("j1"))
    assert time.monotonic() - began < 5

    private_broker.start()
    publish_eventually(publisher, requested("j1", 1))  # the same publisher works once the broker is back
    private_broker.stop()
    with pytest.raises(QueueUnavailable):
        publisher.publish(requested("j2"))
    private_broker.start()  # a restarted Tansu forgot everything, idempotence state included
    publish_eventually(publisher, requested("j2", 1))
    [record] = read_topic(private_broker.client_config(), topics.requests, 1)
    assert record.key == "j2"


def test_acknowledge_rejects_foreign_deliveries(kafka: TansuBroker, kafka_prefix: str) -> None:
    queue = KafkaJobQueue(kafka.client_config(), Topics(kafka_prefix).requests)
    with pytest.raises(ValueError, match="not a delivery"):
        queue.acknowledge(Delivery("j", handle=3))
    queue.close()


def test_consumer_errors_are_not_deliveries_and_a_lost_broker_refuses_commits(
    private_broker: TansuBroker,
) -> None:
    private_broker.start()
    topics = Topics("errors.")
    config = private_broker.client_config(**{"group.id": "errors-workers", "enable.partition.eof": True})
    ensure_topics(config, [topics.requests], partitions=1)
    KafkaEventPublisher(config, topics).publish(requested("j1"))
    missing = KafkaJobQueue(config, "errors.no-such-topic")
    assert missing.receive(2, 1.0) == []  # "unknown topic" is logged, not delivered
    missing.close()

    queue = KafkaJobQueue(config, topics.requests)
    [delivery] = receive_all(queue, 1)
    assert queue.receive(2, 1.0) == []  # end-of-partition notices are not deliveries
    private_broker.stop()
    assert queue.receive(2, 0.5) == []  # transport errors are logged; the loop just polls again
    with pytest.raises(QueueUnavailable, match="cannot commit"):
        queue.acknowledge(delivery)
    queue.close()


def test_live_progress_never_blocks_and_reaches_the_progress_topic(private_broker: TansuBroker) -> None:
    topics = Topics("live.")
    down = KafkaLivePublisher(private_broker.client_config(), Topics("live-down."))
    began = time.monotonic()
    down.publish(GenerationProgress(event_id="p0", job_id="j", user_id="u", occurred_at=NOW, step=1))
    assert time.monotonic() - began < 1  # no broker: dropped, generation goes on

    private_broker.start()
    live = KafkaLivePublisher(private_broker.client_config(), topics)
    for step in (1, 2):
        live.publish(
            GenerationProgress(event_id=f"p{step}", job_id="j", user_id="u", occurred_at=NOW, step=step)
        )
    live.close()
    records = read_topic(private_broker.client_config(), topics.progress, 2)
    assert [r.body["step"] for r in records] == [1, 2]


def test_a_batch_is_published_with_one_wait_and_in_order(kafka: TansuBroker, kafka_prefix: str) -> None:
    topics = Topics(kafka_prefix)
    ensure_topics(kafka.client_config(), topics.all(), partitions=1)
    publisher = KafkaEventPublisher(kafka.client_config(), topics, timeout=10.0)
    events = [requested(f"job-{n % 7}", n) for n in range(300)]
    assert publisher.publish_batch(events) == 300
    records = read_topic(kafka.client_config(), topics.requests, 300)
    assert [r.key for r in records] == [e.job_id for e in events]  # one partition: the outbox order
    publisher.close()


def test_a_batch_during_an_outage_takes_nothing_and_the_next_one_everything(
    private_broker: TansuBroker,
) -> None:
    topics = Topics("batch-outage.")
    publisher = KafkaEventPublisher(private_broker.client_config(), topics, timeout=1.0)
    events = [requested(f"b{n}", n) for n in range(20)]
    assert publisher.publish_batch(events) == 0  # the broker is down: nothing is marked sent
    private_broker.start()
    deadline = time.monotonic() + 20
    taken = 0
    while taken < len(events) and time.monotonic() < deadline:
        taken = publisher.publish_batch(events)
    assert taken == 20
    assert len(read_topic(private_broker.client_config(), topics.requests, 20)) >= 20
