"""The README's HTTP path, for real: `nexus-image serve` as a process (embedded SQLite, files,
in-process queue and worker, the tiny diffusers pipeline), a token from `nexus-image token`,
a POST, polling until COMPLETED, and the PNG downloaded. Then the process is killed mid-work
and a new one finishes what the old one left QUEUED or PROCESSING."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.support.serve import Server, mint_token, serve_env, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def env(tmp_path: Path, tiny_folder: Path) -> dict[str, str]:
    return serve_env(tmp_path / "data", tiny_folder)


@pytest.fixture
def auth(env: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(env)}"}


def status_of(client: httpx.Client, job: str) -> str:
    found: str = client.get(f"/api/v1/images/{job}").json()["status"]
    return found


def test_serve_token_generate_poll_download(
    server_factory: Callable[[], Server], auth: dict[str, str], tmp_path: Path
) -> None:
    server = server_factory()
    with httpx.Client(base_url=server.url, headers=auth, timeout=30) as client:
        created = client.post(
            "/api/v1/images/generate", json={"prompt": "a lighthouse at dawn", "seed": 3, "steps": 4}
        )
        assert created.status_code == 201, created.text
        job: dict[str, Any] = created.json()
        assert (job["status"], job["tokens_cost"]) == ("QUEUED", 5)
        wait_for(lambda: status_of(client, job["id"]) == "COMPLETED", 120, "the job to complete")
        image = client.get(f"/api/v1/images/{job['id']}").json()
        png = client.get(image["storage_url"])
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        with Image.open(io.BytesIO(png.content)) as picture:
            assert picture.size == (512, 512)
            assert picture.text["seed"] == "3"  # type: ignore[attr-defined]
        assert client.get("/ready").json()["checks"]["model"] == "ready"
        assert (
            'image_generation_duration_seconds_count{resolution="512x512"} 1.0' in client.get("/metrics").text
        )
    server.stop()
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    posted = [r for r in lines if r.get("event") == "request" and r.get("route") == "/api/v1/images/generate"]
    assert posted and posted[0]["user_id"] == "alice" and posted[0]["request_id"]


def test_a_new_server_finishes_what_a_killed_one_left(
    server_factory: Callable[[], Server], auth: dict[str, str]
) -> None:
    first = server_factory()
    with httpx.Client(base_url=first.url, headers=auth, timeout=30) as client:
        jobs = [
            client.post("/api/v1/images/generate", json={"prompt": f"a heron {i}", "steps": 12}).json()["id"]
            for i in range(2)
        ]
        wait_for(lambda: status_of(client, jobs[0]) == "PROCESSING", 120, "the first job to start")
        assert status_of(client, jobs[1]) == "QUEUED"
    first.kill()  # its in-process queue (holding the second job) dies with it
    second = server_factory()
    with httpx.Client(base_url=second.url, headers=auth, timeout=30) as client:
        for job in jobs:

            def completed(job: str = job) -> bool:
                return status_of(client, job) == "COMPLETED"

            wait_for(completed, 180, f"job {job} to complete")
        assert client.get("/api/v1/tokens/balance").json()["balance"] == 90
    second.stop()


def test_the_embedded_server_serves_a_lone_request_next_to_a_burst(
    env: dict[str, str], tmp_path: Path
) -> None:
    """The embedded server applies the fair queue too: alice asks for 24 images, then bob for
    one; bob's starts within about one generation (at most two of alice's start after his ask)."""
    env = {**env, "NEXUS_IMAGE_WELCOME_TOKENS": "1000", "NEXUS_IMAGE_RATE_LIMIT_PER_MINUTE": "100"}

    def bearer(user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(env, user)}"}

    server = Server(env, tmp_path / "fair.log")
    try:
        with (
            httpx.Client(base_url=server.url, headers=bearer("alice"), timeout=30) as alice,
            httpx.Client(base_url=server.url, headers=bearer("bob"), timeout=30) as bob,
        ):
            body = {"prompt": "a lighthouse", "steps": 2, "num_images": 4}
            burst = [
                i["id"]
                for _ in range(6)
                for i in alice.post("/api/v1/images/generate", json=body).json()["images"]
            ]
            lone = bob.post("/api/v1/images/generate", json={"prompt": "a heron", "steps": 2}).json()
            asked = lone["created_at"]
            wait_for(lambda: status_of(bob, lone["id"]) == "COMPLETED", 180, "bob's image")
            started = bob.get(f"/api/v1/images/{lone['id']}").json()["started_at"]
            starts = [alice.get(f"/api/v1/images/{j}").json()["started_at"] for j in burst]
        between = [s for s in starts if s is not None and asked < s < started]  # ISO-8601 UTC sorts
        assert len(between) <= 2, between
        assert sum(s is None or s > started for s in starts) >= 18  # most of the burst waited for bob
    finally:
        server.stop()
