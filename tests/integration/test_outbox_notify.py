"""Across processes on PostgreSQL: a commit carrying outbox rows notifies `nexus_image_outbox`,
and a relay's listener rings its bell at once; a rollback notifies nobody. The worker's relay
uses it to publish an API replica's requests without waiting for its next poll."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nexus_image.adapters.sqlalchemy import OutboxListener, SqlDatabase, create_engine_for
from nexus_image.adapters.system import Doorbell, SoleLeadership
from nexus_image.application import GenerateImage
from nexus_image.domain.events import GenerationRequested
from nexus_image.entrypoints.composition import compose
from nexus_image.entrypoints.settings import Settings
from nexus_image.entrypoints.worker.loops import DispatcherLoop, RelayLoop

pytestmark = pytest.mark.integration


def event(n: int) -> GenerationRequested:
    return GenerationRequested(
        job_id=f"job-{n}", user_id="alice", event_id=f"e-{n}", occurred_at=datetime.now(UTC)
    )


def test_a_commit_with_outbox_rows_rings_a_listener_on_another_connection(postgres_url: str) -> None:
    bell = Doorbell()
    listener = OutboxListener(create_engine_for(postgres_url, pool_size=1, max_overflow=0), bell.ring)
    writer = create_engine_for(postgres_url)
    database = SqlDatabase(writer)  # no in-process bell: only the notification can ring
    listener.start()
    try:
        assert listener.listening.wait(10)
        assert bell.wait(5)  # one ring on connect: rows committed while nobody listened
        with database.unit_of_work() as uow:
            uow.outbox.add(event(1))
            uow.outbox.add(event(2))  # one notification per transaction
            assert not bell.wait(0.3)  # nothing before the commit
            uow.commit()
        assert bell.wait(5)
        with database.unit_of_work() as uow:
            uow.outbox.add(event(3))
            uow.rollback()
        assert not bell.wait(0.5)  # rolled back: nobody is woken
        with database.unit_of_work() as uow:  # the transaction after a commit notifies again
            uow.outbox.add(event(4))
            uow.commit()
            uow.outbox.add(event(5))
            uow.commit()
        assert bell.wait(5)
    finally:
        listener.stop()
        writer.dispose()
        listener.engine.dispose()
    assert not listener.listening.is_set()


def test_a_workers_relay_publishes_an_api_replicas_request_without_polling(
    postgres_url: str, tmp_path: Path
) -> None:
    """Two applications on one database, as in two processes: the API side writes the request;
    the worker side's dispatcher and relay, told to look only every minute, dispatch and publish
    it when notified."""
    api = compose("api", Settings(data_dir=tmp_path / "api", database_url=postgres_url, welcome_tokens=100))
    worker = compose(
        "worker", Settings(data_dir=tmp_path / "worker", database_url=postgres_url, image_safety="none")
    )
    try:
        worker.service.relay.drain()  # what earlier tests left behind
        listener = worker.container.outbox_listener()
        assert isinstance(listener, OutboxListener)
        assert worker.runtime.relay_loop.idle_seconds == 1.0
        loop = RelayLoop(
            worker.service.relay, idle_seconds=60, bell=worker.container.outbox_bell(), listener=listener
        )
        worker.service.queue.seat("inproc", 1000, None)  # room for whatever earlier tests left
        dispatcher = DispatcherLoop(
            worker.service.dispatcher, SoleLeadership(), worker.container.dispatcher_bell(), idle_seconds=60
        )
        thread = threading.Thread(target=loop.run, daemon=True)
        thread.start()
        scheduling = threading.Thread(target=dispatcher.run, daemon=True)
        scheduling.start()
        assert listener.listening.wait(10)
        view = api.service.request_generation(GenerateImage(user_id="alice", prompt="a heron", steps=2))
        published: list[str] = []
        deadline = datetime.now(UTC).timestamp() + 10
        while view.id not in published and datetime.now(UTC).timestamp() < deadline:
            published += [d.job_id for d in worker.queue.receive(max_items=8, timeout=0.2)]
        assert view.id in published
        loop.stop_event.set()
        dispatcher.stop_event.set()
        worker.container.bells().ring()
        thread.join(10)
        scheduling.join(10)
        assert not thread.is_alive()
    finally:
        api.close()
        worker.close()
