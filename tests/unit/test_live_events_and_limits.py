"""The in-process live-event broadcaster and the sliding-log rate limiter (more of it in
test_rate_limit_exact.py)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest

from nexus_image.adapters.memory.broadcast import LiveEventBroadcaster, TeePublisher
from nexus_image.adapters.memory.rate_limit import SlidingLogLimiter
from nexus_image.application import QueueUnavailable
from nexus_image.domain.events import GenerationProgress
from nexus_image.entrypoints.http.limits import retry_after_header
from nexus_image.testing import CollectingPublisher

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def progress(user: str, step: int, event_id: str | None = None) -> GenerationProgress:
    return GenerationProgress(
        event_id=event_id or f"{user}-{step}",
        job_id=f"job-{user}",
        user_id=user,
        occurred_at=T0,
        step=step,
        total_steps=9,
    )


def test_events_reach_only_their_users_subscribers_once() -> None:
    hub = LiveEventBroadcaster()
    alice, alice_tab, bob = hub.subscribe("alice"), hub.subscribe("alice"), hub.subscribe("bob")
    hub.publish(progress("alice", 1))
    hub.publish(progress("alice", 1))  # redelivered by the relay: dropped
    hub.publish(progress("carol", 1))  # nobody listens: dropped
    assert [e.event_id for e in alice.drain()] == ["alice-1"]
    assert [e.event_id for e in alice_tab.drain()] == ["alice-1"]
    assert bob.drain() == []
    hub.unsubscribe(alice)
    hub.unsubscribe(alice)
    assert hub.subscriber_count("alice") == 1
    hub.publish(progress("alice", 2))
    assert alice.drain() == [] and len(alice_tab.drain()) == 1


def test_a_slow_subscriber_loses_its_oldest_events_not_memory() -> None:
    hub = LiveEventBroadcaster(buffer=3)
    watcher = hub.subscribe("alice")
    for step in range(5):
        hub.publish(progress("alice", step))
    assert [e.step for e in watcher.drain()] == [2, 3, 4]  # type: ignore[attr-defined]
    assert watcher.dropped == 2


def test_next_batch_wakes_on_events_published_from_another_thread() -> None:
    hub = LiveEventBroadcaster()
    watcher = hub.subscribe("alice")

    async def follow() -> list[int]:
        assert await watcher.next_batch(0.01) == []
        threading.Timer(0.05, hub.publish, args=(progress("alice", 7),)).start()
        batch = await watcher.next_batch(5)
        return [e.step for e in batch]  # type: ignore[attr-defined]

    assert asyncio.run(follow()) == [7]


def test_the_tee_tells_watchers_only_what_the_queue_took() -> None:
    queue, hub = CollectingPublisher(), LiveEventBroadcaster()
    watcher = hub.subscribe("alice")
    tee = TeePublisher(queue, hub)
    queue.available = False
    with pytest.raises(QueueUnavailable):
        tee.publish(progress("alice", 1))
    assert watcher.drain() == []
    queue.available = True
    tee.publish(progress("alice", 1))
    assert len(queue.events) == 1 and len(watcher.drain()) == 1


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def test_the_limit_holds_within_a_window_and_refusals_do_not_count() -> None:
    clock = Clock(600.0)
    limiter = SlidingLogLimiter(3, 60.0, now=clock)
    assert [limiter.hit("alice") for _ in range(3)] == [None, None, None]
    for _ in range(5):
        assert limiter.hit("alice") == pytest.approx(60.0)  # until the 3 hits at 600 leave
    assert limiter.hit("bob") is None
    clock.at = 600.0 + 60  # (600, 660]: the window is empty again
    assert [limiter.hit("alice") for _ in range(3)] == [None, None, None]
    clock.at = 600.0 + 80
    assert limiter.hit("alice") == pytest.approx(40.0)


def test_a_boundary_burst_cannot_double_the_rate() -> None:
    clock = Clock(659.0)
    limiter = SlidingLogLimiter(10, 60.0, now=clock)
    assert all(limiter.hit("u") is None for _ in range(10))
    clock.at = 661.0  # a fixed window would allow 10 more here
    allowed = sum(limiter.hit("u") is None for _ in range(10))
    assert allowed == 0


def test_retry_after_is_a_whole_number_of_seconds_at_least_one() -> None:
    assert [retry_after_header(s) for s in (0.0, 0.2, 1.0, 1.01, 59.5)] == [1, 1, 1, 2, 60]


def test_idle_keys_are_forgotten() -> None:
    clock = Clock(0.0)
    limiter = SlidingLogLimiter(1, 60.0, now=clock)
    limiter.hit("a")
    clock.at = 200.0
    limiter.hit("b")
    assert set(limiter._logs) == {"b"}
