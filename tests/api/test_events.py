"""Live job events over Server-Sent Events, through a real server (uvicorn in a thread) with
the embedded worker running: the caller sees their own job go queued -> processing (every
step) -> completed, and nothing of anybody else's."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from nexus_image.domain.events import (
    DomainEvent,
    GenerationCancelled,
    GenerationCompleted,
    GenerationFailed,
    GenerationStarted,
)
from nexus_image.entrypoints.http.controllers.events import InOrder, message
from nexus_image.entrypoints.settings import Settings
from nexus_image.testing import PatternGenerator

from .conftest import SECRET, CountingStore, app_for, bearer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    settings = Settings(
        data_dir=tmp_path, jwt_secret=SecretStr(SECRET), embedded_worker=True, welcome_tokens=100
    )
    port = free_port()
    app = app_for(settings, CountingStore(), generator=PatternGenerator())
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None)
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(20)
    assert not thread.is_alive()


def read_events(lines: Iterator[str], until_job: str) -> Iterator[tuple[str, dict[str, Any]]]:
    name = ""
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = json.loads(line.removeprefix("data: "))
            yield name, data
            if data["job_id"] == until_job and name in ("completed", "failed", "cancelled"):
                return


def test_the_caller_follows_their_own_job_live_and_sees_nobody_elses(server: str) -> None:
    with (
        httpx.Client(base_url=server, timeout=15) as client,
        client.stream("GET", "/api/v1/events", headers=bearer("alice")) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines) == ": connected"
        theirs = client.post(
            "/api/v1/images/generate", json={"prompt": "a cat", "steps": 3}, headers=bearer("bob")
        )
        mine = client.post(
            "/api/v1/images/generate", json={"prompt": "a fox", "steps": 4}, headers=bearer("alice")
        )
        assert mine.status_code == theirs.status_code == 201
        job = mine.json()["id"]
        events = list(read_events(lines, job))
    assert {data["job_id"] for _, data in events} == {job}
    names = [name for name, _ in events]
    assert names[0] == "queued" and names[-1] == "completed"
    assert set(names[1:-1]) == {"processing"}
    steps = [data["step"] for name, data in events if name == "processing" and data["total_steps"]]
    assert steps[0] == 1 and steps[-1] == 4 and steps == sorted(set(steps))  # throttled, never the last
    assert events[-1][1]["status"] == "COMPLETED" and events[-1][1]["image_url"] == f"/api/v1/images/{job}"
    assert events[0][1] == {**events[0][1], "status": "QUEUED", "tokens_cost": 5}


def test_events_need_a_token(server: str) -> None:
    response = httpx.get(f"{server}/api/v1/events", timeout=5)
    assert response.status_code == 401


def test_the_embedded_server_runs_a_job_to_completion_on_its_own(server: str) -> None:
    with httpx.Client(base_url=server, timeout=10, headers=bearer("carol")) as client:
        job = client.post("/api/v1/images/generate", json={"prompt": "a heron", "steps": 2}).json()
        deadline = time.monotonic() + 15
        while (status := client.get(f"/api/v1/images/{job['id']}").json()["status"]) != "COMPLETED":
            assert status in ("QUEUED", "PROCESSING") and time.monotonic() < deadline
            time.sleep(0.05)
        png = client.get(f"/api/v1/images/{job['id']}/file")
        assert png.content.startswith(b"\x89PNG")
        ready = client.get("/ready").json()
        assert ready["checks"]["model"] == "ready"


def test_each_event_type_becomes_a_client_message_without_internal_fields() -> None:
    at = datetime(2026, 1, 1, 12, tzinfo=UTC)
    common: dict[str, Any] = {"event_id": "e", "job_id": "j", "user_id": "u", "occurred_at": at}
    cases: list[tuple[DomainEvent, str, dict[str, Any]]] = [
        (
            GenerationStarted(**common, attempt=2),
            "processing",
            {"status": "PROCESSING", "step": 0, "attempt": 2},
        ),
        (
            GenerationFailed(**common, reason="out of memory", refunded=5),
            "failed",
            {"reason": "out of memory"},
        ),
        (GenerationCancelled(**common, refunded=5), "cancelled", {"status": "CANCELLED", "refunded": 5}),
        (GenerationCompleted(**common, image_key="images/u/j.png"), "completed", {"status": "COMPLETED"}),
    ]
    for event, name, expected in cases:
        sse = message(event)
        assert sse is not None and sse.event == name and sse.id == "e"
        data = json.loads(str(sse.data))
        assert data == {**data, **expected} and data["occurred_at"] == "2026-01-01T12:00:00Z"
        assert "images/u/j.png" not in str(sse.data) and "user_id" not in data


def test_stale_events_of_a_job_are_dropped() -> None:
    order = InOrder()
    admitted = [order.admit("j", n) for n in ("processing", "queued", "processing", "completed", "queued")]
    assert admitted == [True, False, True, True, True]  # a finished job is forgotten
