"""Live events over a WebSocket, the snapshot a reconnecting client gets, and the queue position
carried by `queued` events."""

from __future__ import annotations

import io
import json
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from litestar.exceptions import WebSocketDisconnect

from tests.api.test_events import read_events, server  # noqa: F401 - the fixture, shared

from .conftest import Api, bearer, token


def receive_until_done(ws: Any, job_id: str) -> list[dict[str, Any]]:
    messages = []
    while True:
        message = ws.receive_json(timeout=10)
        messages.append(message)
        data = message.get("data", {})
        if data.get("job_id") == job_id and message.get("event") in ("completed", "failed", "cancelled"):
            return messages


def test_the_websocket_streams_the_callers_events_after_a_first_auth_message(api: Api) -> None:
    with api.client.websocket_connect("/api/v1/ws") as ws:
        ws.send_json({"type": "auth", "token": token("alice")})
        assert ws.receive_json(timeout=5) == {"type": "connected", "user_id": "alice"}
        api.generate(user="bob")  # someone else's job: never shown
        job = api.generate()["id"]
        api.run_jobs()
        api.worker.relay.drain()  # the outcome travels through the outbox
        messages = receive_until_done(ws, job)
    events = [m for m in messages if m["type"] == "event"]
    assert {m["data"]["job_id"] for m in events} == {job}
    names = [m["event"] for m in events]
    assert names[0] == "queued" and names[-1] == "completed" and "processing" in names
    steps = [m["data"]["step"] for m in events if m["event"] == "processing" and m["data"]["total_steps"]]
    assert steps[0] == 1 and steps[-1] == 3 and steps == sorted(set(steps))  # throttled, never the last
    assert all(m["id"] for m in events)
    assert "queue_position" in events[0]["data"]


@pytest.mark.parametrize(
    ("first", "code"),
    [
        (json.dumps({"type": "auth", "token": "not-a-jwt"}), 4401),
        (json.dumps({"type": "auth", "token": "x" * 3000}), 4401),
        (json.dumps({"type": "hello"}), 4400),
        (json.dumps({"token": "x"}), 4400),
        (json.dumps({"type": "auth", "token": 7}), 4400),
        (json.dumps(["auth"]), 4400),
        ("{not json", 4400),
        ("[" * 2000 + "]" * 2000, 4400),  # deep nesting, within the size
        (json.dumps({"type": "auth", "token": "x" * 5000}), 4400),  # over 4 KiB before authentication
        (b"\x00binary", 4400),
    ],
)
def test_a_websocket_refuses_a_bad_first_message_with_a_4400_class_close(
    api: Api, log_lines: io.StringIO, first: str | bytes, code: int
) -> None:
    with api.client.websocket_connect("/api/v1/ws") as ws:
        if isinstance(first, bytes):
            ws.send_bytes(first)
        else:
            ws.send_text(first)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json(timeout=5)
    assert closed.value.code == code
    logged = [json.loads(line) for line in log_lines.getvalue().splitlines() if line.strip()]
    assert not [r for r in logged if r.get("level") == "error" or "exception" in r]


def test_a_reconnecting_client_first_gets_where_its_jobs_stand(server: str) -> None:  # noqa: F811
    with httpx.Client(base_url=server, timeout=15, headers=bearer("dora")) as client:
        done = client.post("/api/v1/images/generate", json={"prompt": "a kite", "steps": 2}).json()["id"]
        deadline = time.monotonic() + 15
        while client.get(f"/api/v1/images/{done}").json()["status"] != "COMPLETED":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with client.stream(
            "GET", "/api/v1/events", headers={"Last-Event-ID": "some-earlier-event"}
        ) as stream:
            lines = stream.iter_lines()
            assert next(lines) == ": connected"
            name, data = next(read_events(lines, until_job=done))
    assert (name, data["job_id"], data["status"], data["snapshot"]) == ("completed", done, "COMPLETED", True)
    assert data["image_url"] == f"/api/v1/images/{done}"


def test_get_image_tells_the_queue_position_until_the_job_starts(api: Api) -> None:
    api.app.service.images.estimates_ttl = timedelta(0)  # no caching of the estimates here
    first, second = api.generate()["id"], api.generate()["id"]
    body = api.request("GET", f"/images/{second}").json()
    assert (body["queue_position"], body["eta_seconds"]) == (2, None)  # nothing measured yet
    assert api.request("GET", f"/images/{first}").json()["queue_position"] == 1
    api.run_jobs()
    done = api.request("GET", f"/images/{second}").json()
    assert (done["status"], done["queue_position"], done["eta_seconds"]) == ("COMPLETED", None, None)
    third = api.generate()["id"]
    queued = api.request("GET", f"/images/{third}").json()
    assert queued["queue_position"] == 1 and isinstance(queued["eta_seconds"], int)
