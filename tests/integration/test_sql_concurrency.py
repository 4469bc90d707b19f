"""Concurrency on the real engines: debits never overdraw; relays never share an event."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from nexus_image.adapters.sqlalchemy import SqlDatabase, create_engine_for, migrate, sqlite_url
from nexus_image.adapters.system import SystemClock
from nexus_image.application import Conflict, GenerateImage
from nexus_image.application.relay import RelayOutbox
from nexus_image.domain import DomainEvent, EntryKind, GenerationRequested, InsufficientTokens

from .sql_support import service_on

pytestmark = pytest.mark.integration

REQUESTS = 20
COVERED = 7  # the balance pays for 7 images of 5 tokens


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgres":
        yield request.getfixturevalue("clean_postgres")
        return
    engine = create_engine_for(sqlite_url(tmp_path / "concurrency.db"))
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("account", ["opened before", "opened by the requests"])
def test_parallel_requests_spend_exactly_the_balance(engine: Engine, account: str) -> None:
    if account == "opened before":
        service = service_on(SqlDatabase(engine).unit_of_work)
        service.tokens.grant("carol", COVERED * 5)
    else:  # every request races to open the account with its welcome grant
        service = service_on(SqlDatabase(engine).unit_of_work, welcome_grant=COVERED * 5)
    start = threading.Barrier(REQUESTS)

    def request(seed: int) -> str:
        start.wait()
        try:
            service.request_generation(GenerateImage(user_id="carol", prompt="a red fox", seed=seed))
        except InsufficientTokens:
            return "refused"
        return "queued"

    began = time.perf_counter()
    with ThreadPoolExecutor(REQUESTS) as pool:
        outcomes = list(pool.map(request, range(REQUESTS)))
    elapsed = time.perf_counter() - began
    assert outcomes.count("queued") == COVERED, outcomes
    assert outcomes.count("refused") == REQUESTS - COVERED
    ledger = service.tokens.ledger("carol")
    assert service.tokens.balance("carol").balance == 0 == sum(e.amount for e in ledger)
    assert [e.kind for e in ledger].count(EntryKind.DEBIT) == COVERED
    assert [e.kind for e in ledger].count(EntryKind.GRANT) == 1
    assert service.images.list_mine("carol", 0, 100).total == COVERED
    with SqlDatabase(engine).unit_of_work() as uow:
        assert len(uow.outbox.pending(100)) == COVERED
    assert elapsed < 30


def test_a_job_cancelled_many_times_at_once_is_refunded_once(engine: Engine) -> None:
    service = service_on(SqlDatabase(engine).unit_of_work, welcome_grant=50)
    job = service.request_generation(GenerateImage(user_id="carol", prompt="a red fox"))
    start = threading.Barrier(10)

    def cancel(_: int) -> str:
        start.wait()
        try:
            service.cancel("carol", job.id)
        except Conflict:
            return "conflict"
        return "cancelled"

    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(cancel, range(10)))
    assert sorted(set(outcomes)) == ["cancelled", "conflict"] and outcomes.count("cancelled") == 1
    ledger = service.tokens.ledger("carol")
    assert [e.kind for e in ledger] == [EntryKind.GRANT, EntryKind.DEBIT, EntryKind.REFUND]
    assert service.tokens.balance("carol").balance == 50


class MeetingPublisher:
    """Collects what one relay publishes; its first publish waits until every relay holds a
    batch, so the relays provably work at the same time."""

    def __init__(self, meeting: threading.Barrier) -> None:
        self.meeting = meeting
        self.events: list[DomainEvent] = []

    def publish(self, event: DomainEvent) -> None:
        if not self.events:
            self.meeting.wait()
        self.events.append(event)


def test_concurrent_relays_never_publish_the_same_event(clean_postgres: Engine) -> None:
    db = SqlDatabase(clean_postgres)
    clock = SystemClock()
    with db.unit_of_work() as uow:
        for n in range(200):
            uow.outbox.add(
                GenerationRequested(
                    event_id=f"e{n:03d}", job_id=f"j{n % 7}", user_id="u", occurred_at=clock.now()
                )
            )
        uow.commit()
    meeting = threading.Barrier(4, timeout=20)
    publishers = [MeetingPublisher(meeting) for _ in range(4)]
    relays = [RelayOutbox(db.unit_of_work, p, clock, batch_size=10) for p in publishers]
    threads = [threading.Thread(target=relay.drain) for relay in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    while relays[0].execute():  # a relay that found everything locked stopped early; finish
        pass
    published = [e.event_id for p in publishers for e in p.events]
    assert len(published) == len(set(published)) == 200
    assert all(p.events for p in publishers)  # each held a batch while the others held theirs
    for p in publishers:
        ids = [e.event_id for e in p.events]
        assert ids[:10] == sorted(ids[:10])  # a batch goes out in outbox order
    with db.unit_of_work() as uow:
        assert uow.outbox.pending(10) == []
