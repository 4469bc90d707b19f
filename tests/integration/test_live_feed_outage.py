"""The live-event feed of an API replica across broker outages longer than its session: the
group hands its partitions out again, and the feed must go on from the last event it read,
whatever `auto.offset.reset` says (the end lost the outage's events; the beginning replayed
everything since the feed started)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from benchmarks.soak import GatedTansu

from nexus_image.adapters.kafka import KafkaEventPublisher, Topics, ensure_topics
from nexus_image.adapters.kafka.feed import KafkaEventFeed
from nexus_image.application.errors import QueueUnavailable
from nexus_image.domain.events import DomainEvent, GenerationCompleted, GenerationProgress
from tests.support.tansu import TANSU_CLIENT_CONFIG

pytestmark = pytest.mark.integration


class Heard:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[DomainEvent] = []

    def publish(self, event: DomainEvent) -> None:
        with self.lock:
            self.events.append(event)


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatedTansu]:
    broker = GatedTansu(tmp_path_factory.mktemp("gated-tansu"))
    broker.start()
    yield broker
    broker.stop()


def _event(n: int) -> DomainEvent:
    now = datetime.now(UTC)
    if n % 3:
        return GenerationProgress(event_id=uuid.uuid4().hex, job_id=f"job-{n}", user_id="u", occurred_at=now)
    return GenerationCompleted(event_id=uuid.uuid4().hex, job_id=f"job-{n}", user_id="u", occurred_at=now)


@pytest.mark.parametrize("reset", ["latest", "earliest"])
def test_the_feed_hears_every_event_once_across_outages(gated: GatedTansu, reset: str) -> None:
    config = {"bootstrap.servers": gated.bootstrap, **TANSU_CLIENT_CONFIG, "auto.offset.reset": reset}
    topics = Topics(f"f{uuid.uuid4().hex[:8]}.")
    ensure_topics(config, topics.all(), partitions=3)
    publisher = KafkaEventPublisher(config, topics, timeout=2.0)
    heard = Heard()
    feed = KafkaEventFeed(config, topics, heard, group_id=f"feed-{reset}-{uuid.uuid4().hex[:6]}")
    feed.start()
    sent: list[str] = []
    retried = [0]  # a publish that timed out may still have landed: its retry is a second copy
    stop = threading.Event()

    def produce() -> None:
        n = 0
        while not stop.is_set():
            event = _event(n)
            while True:
                try:
                    publisher.publish(event)
                    break
                except QueueUnavailable:
                    retried[0] += 1
                    time.sleep(0.2)  # as the outbox relay: the same event again
            sent.append(event.event_id)
            n += 1
            time.sleep(0.02)

    try:
        time.sleep(4)  # the first assignment
        producer = threading.Thread(target=produce)
        producer.start()
        time.sleep(3)
        gated.gate.close_for(4.5)  # beyond the 3 s session: the group rebalances
        time.sleep(3)
        stop.set()
        producer.join()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(heard.events) < len(sent):
            time.sleep(0.2)
        time.sleep(1)  # a replay would show up as more
    finally:
        feed.stop()
    ids = [e.event_id for e in heard.events]
    assert len(sent) > 100
    assert set(ids) == set(sent), f"{len(set(sent) - set(ids))} of {len(sent)} events never heard"
    assert len(ids) <= len(sent) + retried[0], "events heard again: a replay"
