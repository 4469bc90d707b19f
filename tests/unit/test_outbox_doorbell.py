"""The relay publishes outbox events the moment they are committed: commits that wrote outbox
rows ring a doorbell that the relay waits on (it only polls as a fallback)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from nexus_image.adapters.system import Doorbell, SoleLeadership, ringing
from nexus_image.application import GenerateImage
from nexus_image.domain.events import GenerationRequested
from nexus_image.entrypoints.composition import compose
from nexus_image.entrypoints.settings import Settings
from nexus_image.entrypoints.worker.loops import DispatcherLoop, RelayLoop
from nexus_image.testing import MemoryStore


def test_a_ring_before_the_wait_is_kept_and_one_wait_takes_it() -> None:
    bell = Doorbell()
    assert bell.wait(0) is False
    bell.ring()
    bell.ring()
    assert bell.wait(0) is True  # rung while nobody waited: not slept through
    assert bell.wait(0) is False  # one wait took both rings
    assert bell.rings == 2


def test_only_a_commit_that_wrote_outbox_rows_rings() -> None:
    bell = Doorbell()
    factory = ringing(MemoryStore().unit_of_work, bell)
    event = GenerationRequested(job_id="j1", user_id="alice", event_id="e1", occurred_at=datetime.now(UTC))
    with factory() as uow:
        uow.outbox.add(event)
        assert bell.rings == 0  # not before the commit: the relay would not see the row yet
        uow.commit()
    assert bell.rings == 1
    with factory() as uow:
        uow.outbox.add(event)
        uow.rollback()
        uow.commit()  # nothing left to commit: no ring
    with factory() as uow:
        uow.outbox.add(event)  # left without commit: rolled back, no ring
    with factory() as uow:
        assert len(uow.outbox.pending(10)) == 1
        uow.commit()  # a commit without outbox rows
    assert bell.rings == 1


def test_a_request_is_dispatched_and_relayed_at_once_although_both_would_look_only_every_minute(
    tmp_path: Path,
) -> None:
    app = compose("embedded", Settings(data_dir=tmp_path, image_safety="none"))
    try:
        app.service.queue.seat("w", 1, None)  # a worker with room
        relay = RelayLoop(app.service.relay, idle_seconds=60, bell=app.container.outbox_bell())
        dispatcher = DispatcherLoop(
            app.service.dispatcher, SoleLeadership(), app.container.dispatcher_bell(), idle_seconds=60
        )
        threads = [threading.Thread(target=loop.run, daemon=True) for loop in (relay, dispatcher)]
        for thread in threads:
            thread.start()
        time.sleep(0.2)  # both wait on their bells now
        view = app.service.request_generation(GenerateImage(user_id="alice", prompt="a heron", steps=2))
        deliveries = app.queue.receive(max_items=1, timeout=10)
        assert [d.job_id for d in deliveries] == [view.id]
        relay.stop_event.set()
        dispatcher.stop_event.set()
        app.container.bells().ring()
        for thread in threads:
            thread.join(5)
            assert not thread.is_alive()
    finally:
        app.close()


def test_stopping_the_runtime_wakes_its_relay(tmp_path: Path) -> None:
    app = compose("embedded", Settings(data_dir=tmp_path, image_safety="none"))
    try:
        runtime = app.runtime
        assert runtime.relay_loop.idle_seconds == 1.0  # every writer is in this process and rings
        runtime.relay_loop.idle_seconds = 60
        runtime._begin()  # recovery and relay threads, no model load
        began = time.monotonic()
        runtime.stop(timeout=30)
        assert time.monotonic() - began < 10  # not the minute of its idle wait
        assert all(not t.is_alive() for t in runtime.threads)
    finally:
        app.close()


def test_a_worker_without_notifications_polls_often(tmp_path: Path) -> None:
    app = compose("worker", Settings(data_dir=tmp_path, image_safety="none"))
    try:
        assert app.container.outbox_listener() is None  # SQLite: no LISTEN/NOTIFY
        assert app.runtime.relay_loop.idle_seconds == 0.2
    finally:
        app.close()
