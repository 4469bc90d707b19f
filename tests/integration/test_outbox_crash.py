"""Crash between writing and relaying: the event reaches consumers once (after their dedupe by
event id) and nobody is charged twice, across real process deaths (SIGKILL) on PostgreSQL."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from nexus_image.adapters.sqlalchemy import SqlDatabase
from nexus_image.application import GenerateImage
from nexus_image.domain import EntryKind

from .sql_support import service_on

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def child(*args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "tests.integration.outbox_crash_child", *args]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_killed_before_relaying_then_relayed_exactly_once(
    clean_postgres: Engine, postgres_url: str, tmp_path: Path
) -> None:
    broker = tmp_path / "broker.jsonl"
    requester = child("request", postgres_url, "retry-key-1")
    assert requester.stdout is not None
    job_id = requester.stdout.readline().strip()
    requester.send_signal(signal.SIGKILL)  # committed, never relayed
    assert requester.wait(30) == -signal.SIGKILL and job_id, requester.stderr.read()  # type: ignore[union-attr]

    db = SqlDatabase(clean_postgres)
    with db.unit_of_work() as uow:
        assert [r.event.job_id for r in uow.outbox.pending(10)] == [job_id]

    # A relay dies after the broker took the event but before the outbox row was marked sent ...
    dying = child("relay", postgres_url, str(broker), "--die-after-publish")
    assert dying.wait(30) == -signal.SIGKILL
    # ... so its successor publishes the event again: at least once.
    successor = child("relay", postgres_url, str(broker))
    out, err = successor.communicate(timeout=30)
    assert successor.returncode == 0 and out.strip() == "1", err

    delivered = [json.loads(line) for line in broker.read_text().splitlines()]
    assert len(delivered) == 2  # the duplicate really happened
    seen: dict[str, dict[str, object]] = {}
    for message in delivered:  # what a consumer does: drop what it has seen, by event id
        seen.setdefault(str(message["event_id"]), message)
    assert [(m["event_type"], m["job_id"]) for m in seen.values()] == [("generation.requested", job_id)]

    # The client retries its request with the same key after the crash: same job, no new charge.
    service = service_on(db.unit_of_work, welcome_grant=100)
    retried = service.request_generation(
        GenerateImage(user_id="dora", prompt="a lighthouse", client_key="retry-key-1")
    )
    assert retried.id == job_id
    ledger = service.tokens.ledger("dora")
    assert [e.kind for e in ledger] == [EntryKind.GRANT, EntryKind.DEBIT]
    assert service.tokens.balance("dora").balance == 95 == sum(e.amount for e in ledger)
    with db.unit_of_work() as uow:
        assert uow.outbox.pending(10) == []
