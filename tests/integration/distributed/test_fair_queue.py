"""The fair queue in the distributed deployment, every part a real process: two API replicas
(`nexus-image serve`), two workers (a generation takes 0.4 s each), two standalone dispatchers
(`nexus-image dispatcher`, one holding the PostgreSQL lock), PostgreSQL, a Kafka-protocol broker
and S3. Clients talk HTTP to the replicas; the test reads the database to check the order."""

from __future__ import annotations

import subprocess
import time
from datetime import datetime
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from nexus_image.domain.job import ImageJob
from tests.support.cluster import (
    NEXUS_IMAGE,
    Cluster,
    WorkerHandle,
    all_in,
    assert_nothing_lost_nothing_charged_twice,
    wait_for,
)
from tests.support.pattern_worker import HANG_MARKER
from tests.support.servers import free_port, port_open
from tests.support.tansu import TansuBroker

from .conftest import MakeCluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SECRET = "fair-queue-tests-secret-that-is-long-enough-0123456789"
TIERS = (
    '{"free": {"weight": 1, "max_queued": 60}, "pro": {"weight": 3, "max_queued": 60},'
    ' "capped": {"weight": 1, "max_queued": 6, "max_running": 1}}'
)
LEADS = "this process dispatches now"


class Client:
    def __init__(self, port: int, user: str, tier: str | None = None) -> None:
        claims: dict[str, Any] = {"sub": user, "exp": int(time.time()) + 900}
        if tier is not None:
            claims["tier"] = tier
        token = jwt.encode(claims, SECRET, algorithm="HS256")
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=20
        )

    def post(self, **body: Any) -> httpx.Response:
        return self.http.post("/api/v1/images/generate", json={"prompt": "a harbour", "steps": 2, **body})

    def generate(self, **body: Any) -> list[str]:
        response = self.post(**body)
        assert response.status_code == 201, response.text
        return [image["id"] for image in response.json()["images"]]

    def balance(self) -> int:
        found: int = self.http.get("/api/v1/tokens/balance").json()["balance"]
        return found


@pytest.fixture
def deployment(make_cluster: MakeCluster, kafka: TansuBroker, tmp_path: Path) -> tuple[Cluster, list[int]]:
    cluster = make_cluster(
        kafka, jwt_secret=SECRET, max_batch=1, tiers=TIERS, rate_limit_per_minute=1000, dispatcher=False
    )
    ports = [free_port(), free_port()]
    for index, port in enumerate(ports):
        cluster.start_api(f"api-{index}", port)
    for worker_id in ("w1", "w2"):
        cluster.start_worker(
            worker_id,
            "--delay",
            "0.4",
            "--release-file",
            str(tmp_path / "release"),
            module="tests.support.pattern_worker",
        )
    for name in ("s1", "s2"):
        cluster.start_dispatcher(name)
    for port in ports:
        wait_for(partial(port_open, port), 60, "the API replicas to listen", cluster.worker_logs)
    probe = cluster.api()

    def seated() -> bool:
        workers = probe.service.queue.status().workers
        return len(workers) == 2 and all(seat.partitions for seat in workers)

    wait_for(seated, 120, "both workers to take jobs from their partitions", cluster.worker_logs)
    wait_for(lambda: leader(cluster) is not None, 30, "a dispatcher to lead", cluster.worker_logs)
    return cluster, ports


def leader(cluster: Cluster) -> WorkerHandle | None:
    leading = [h for h in cluster.workers if h.worker_id.startswith("s") and h.process.poll() is None]
    found = [h for h in leading if LEADS in h.log()]
    return found[-1] if found else None


def rows(cluster: Cluster, ids: list[str]) -> list[ImageJob]:
    with cluster.apps[0].service.deps.uow_factory() as uow:
        return uow.jobs.list_by_ids(ids)


def started_after_per_worker(
    cluster: Cluster, burst: list[str], lone: str, asked: datetime
) -> dict[str, int]:
    """How many of the burst's jobs each worker started after the lone request, before it."""
    [single] = rows(cluster, [lone])
    assert single.started_at is not None
    counts: dict[str, int] = {}
    for job in rows(cluster, burst):
        if job.started_at is not None and asked < job.started_at < single.started_at:
            counts[job.worker_id or "?"] = counts.get(job.worker_id or "?", 0) + 1
    return counts


def test_the_fleet_serves_users_and_tiers_fairly_through_faults(
    deployment: tuple[Cluster, list[int]], tmp_path: Path
) -> None:
    cluster, (port_a, port_b) = deployment
    probe = cluster.api()
    alice, bob = Client(port_a, "alice"), Client(port_b, "bob")

    # 1. A burst of 24 images, then one image of another user: it starts within one generation.
    burst = [job for _ in range(6) for job in alice.generate(num_images=4)]
    lone = bob.post()
    assert lone.status_code == 201
    asked = datetime.fromisoformat(lone.json()["created_at"])
    wait_for(all_in(probe, [lone.json()["id"]], "COMPLETED"), 60, "bob's image", cluster.worker_logs)
    late = started_after_per_worker(cluster, burst, lone.json()["id"], asked)
    assert all(count <= 2 for count in late.values()), late

    # 2. The leading dispatcher SIGKILLed mid-burst: the standby takes over, nothing lost or doubled.
    wait_for(all_in(probe, burst, "COMPLETED"), 120, "the first burst", cluster.worker_logs)
    second = [job for _ in range(5) for job in alice.generate(num_images=4)]
    wait_for(
        lambda: sum(j.status.value == "COMPLETED" for j in rows(cluster, second)) >= 3, 60, "work to start"
    )
    killed = leader(cluster)
    assert killed is not None
    killed.kill()
    gone = time.monotonic()
    wait_for(lambda: leader(cluster) not in (None, killed), 30, "the standby to lead", cluster.worker_logs)
    took_over = time.monotonic() - gone
    again = bob.post()
    asked = datetime.fromisoformat(again.json()["created_at"])
    wait_for(all_in(probe, [*second, again.json()["id"]], "COMPLETED"), 120, "every job", cluster.worker_logs)
    assert took_over < 10  # well within a lease (30 s)
    assert all(job.attempts == 1 for job in rows(cluster, second))
    assert_nothing_lost_nothing_charged_twice(probe, burst + second, "alice")
    late = started_after_per_worker(cluster, second, again.json()["id"], asked)
    assert all(count <= 2 for count in late.values()), late  # fairness resumed

    # 3. Tiers 3:1 both flooding; a capped user runs one image at a time and queues at most six.
    pro, free, capped = (
        Client(port_a, "p1", "pro"),
        Client(port_b, "f1", "free"),
        Client(port_a, "c1", "capped"),
    )
    flood = {"pro": [], "free": []}  # type: dict[str, list[str]]
    for _ in range(12):
        flood["pro"] += pro.generate(num_images=4)
        flood["free"] += free.generate(num_images=4)
    wait_for(lambda: sum(j.started_at is not None for j in rows(cluster, flood["pro"])) >= 6, 60, "the flood")
    light = Client(port_b, "f2", "free").post()  # a lone job of the light tier, under the flood
    light_asked = datetime.fromisoformat(light.json()["created_at"])
    held = capped.generate(num_images=4) + capped.generate(num_images=2)
    before = capped.balance()
    refused = capped.post(num_images=2)
    assert refused.status_code == 429 and refused.json()["code"] == "user_queue_full"
    assert capped.balance() == before
    everything = flood["pro"] + flood["free"] + held
    wait_for(
        all_in(probe, [*everything, light.json()["id"]], "COMPLETED"), 240, "the flood", cluster.worker_logs
    )
    order = sorted(rows(cluster, flood["pro"] + flood["free"]), key=lambda j: j.started_at or j.created_at)
    first = [job.tier for job in order[:40]]
    ratio = first.count("pro") / first.count("free")
    assert 3 * 0.8 <= ratio <= 3 * 1.2, (first.count("pro"), first.count("free"))
    [light_job] = rows(cluster, [light.json()["id"]])
    light_started = light_job.started_at
    assert light_started is not None
    ahead = [
        j for j in rows(cluster, everything) if j.started_at and light_asked < j.started_at < light_started
    ]
    # its bound: ceil((3 + 1) / 1) jobs of the other tiers (pro and capped; f2, never served, is
    # at the front of its own), plus the jobs already dispatched to the two workers when it came
    assert len(ahead) <= 4 + 2, len(ahead)
    runs = sorted(rows(cluster, held), key=lambda j: j.started_at or j.created_at)
    for earlier, later in pairwise(runs):
        assert earlier.completed_at is not None and later.started_at is not None
        assert later.started_at >= earlier.completed_at  # never two at once, on either worker

    # 4. Deadlines: passed while queued (paused), passed while dispatched to a busy worker, met.
    env = cluster.env()
    nexus = NEXUS_IMAGE
    subprocess.run([nexus, "queue", "pause"], env=env, check=True, capture_output=True, timeout=60)
    [queued] = alice.generate(deadline_seconds=2)
    wait_for(all_in(probe, [queued], "EXPIRED"), 30, "the queued job to expire", cluster.worker_logs)
    subprocess.run([nexus, "queue", "resume"], env=env, check=True, capture_output=True, timeout=60)
    hung = [job for _ in range(2) for job in Client(port_a, "h1").generate(prompt=f"a {HANG_MARKER}")]
    wait_for(all_in(probe, hung, "PROCESSING"), 60, "both workers to be busy", cluster.worker_logs)
    [waiting] = bob.generate(deadline_seconds=3)
    wait_for(lambda: rows(cluster, [waiting])[0].dispatched_at is not None, 30, "its dispatch")
    wait_for(all_in(probe, [waiting], "EXPIRED"), 30, "the dispatched job to expire", cluster.worker_logs)
    (tmp_path / "release").touch()
    [met] = bob.generate(deadline_seconds=60)
    wait_for(all_in(probe, [*hung, met], "COMPLETED"), 60, "the rest", cluster.worker_logs)
    for job in rows(cluster, [queued, waiting]):
        assert job.started_at is None and job.attempts == 0
    assert_nothing_lost_nothing_charged_twice(probe, [waiting, met], "bob")
    assert_nothing_lost_nothing_charged_twice(probe, [queued], "alice")
