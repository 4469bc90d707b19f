"""The distributed deployment as operators run it, every part a real process: two `nexus-image
serve` API replicas (no in-process worker) and two `nexus-image worker` processes on
PostgreSQL, a Kafka-protocol broker and S3. Clients talk to the replicas over HTTP, SSE and
WebSocket; the test reads the database and the topics only to check the outcome."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from functools import partial
from typing import Any

import httpx
import jwt
import pytest
from websockets.sync.client import connect

from nexus_image.adapters.kafka import Topics
from nexus_image.application.service_keys import CreateServiceKey
from nexus_image.domain.job import ImageJob
from tests.support.cluster import (
    USER,
    Cluster,
    WorkerHandle,
    all_in,
    assert_nothing_lost_nothing_charged_twice,
    wait_for,
)
from tests.support.kafka_read import read_until_quiet
from tests.support.servers import free_port, port_open
from tests.support.tansu import TANSU_CLIENT_CONFIG, TansuBroker

from .conftest import MakeCluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SECRET = "replica-tests-secret-that-is-long-enough-0123456789"
LEASE = 30  # the production default: the takeover below is measured against it


def bearer(user: str = USER) -> dict[str, str]:
    claims = {"sub": user, "exp": int(time.time()) + 900}
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}


class Replica:
    def __init__(self, handle: WorkerHandle, port: int) -> None:
        self.handle, self.port = handle, port
        self.base = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(base_url=self.base, headers=bearer(), timeout=20)

    def generate(self, **body: Any) -> dict[str, Any]:
        response = self.client.post("/api/v1/images/generate", json={"prompt": "a harbour", **body})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def image(self, job_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.client.get(f"/api/v1/images/{job_id}").json()
        return found


class SseReader:
    """Holds an event stream open in a thread and keeps what arrives."""

    def __init__(self, replica: Replica) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.connected = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._read, args=(replica,), daemon=True)
        self._thread.start()

    def _read(self, replica: Replica) -> None:
        with (
            httpx.Client(base_url=replica.base, headers=bearer(), timeout=None) as client,
            client.stream("GET", "/api/v1/events") as stream,
        ):
            name = ""
            for line in stream.iter_lines():
                if line == ": connected":
                    self.connected.set()
                elif line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    self.events.append((name, json.loads(line.removeprefix("data: "))))
                if self._stop:
                    return

    def of(self, job_id: str) -> list[tuple[str, dict[str, Any]]]:
        return [(n, d) for n, d in self.events if d["job_id"] == job_id]

    def close(self) -> None:
        self._stop = True


class WsReader(SseReader):
    def _read(self, replica: Replica) -> None:
        token = bearer()["Authorization"].removeprefix("Bearer ")
        with connect(f"ws://127.0.0.1:{replica.port}/api/v1/ws", open_timeout=20) as ws:
            ws.send(json.dumps({"type": "auth", "token": token}))
            while not self._stop:
                message = json.loads(ws.recv(timeout=None))
                if message["type"] == "connected":
                    self.connected.set()
                elif message["type"] == "event":
                    self.events.append((message["event"], message["data"]))


def job_row(cluster: Cluster, job_id: str) -> ImageJob:
    with cluster.apps[0].service.deps.uow_factory() as uow:
        job = uow.jobs.get(job_id)
    assert job is not None
    return job


def ready(worker: WorkerHandle) -> bool:
    return "ready" in worker.log()


def revoked_on_a_is_refused_on_b_at_once(probe: Any, a: Replica, b: Replica, job_id: str) -> None:
    """A service key made through A acts for the user on B; revoked through A, it is refused by
    B on the very next request (keys are checked in the shared database, never cached)."""
    operator = probe.manage_service_keys.create(CreateServiceKey("ops", ["admin"]))  # as `keys create`
    admin = {"Authorization": f"Bearer {operator.token}"}
    body = {"name": "broker", "scopes": ["images:read", "on_behalf_of"]}
    made = httpx.post(f"{a.base}/api/v1/admin/keys", json=body, headers=admin, timeout=20)
    assert made.status_code == 201, made.text
    key = made.json()
    keyed = {"Authorization": f"Bearer {key['token']}", "X-On-Behalf-Of": USER}
    seen = httpx.get(f"{b.base}/api/v1/images/{job_id}", headers=keyed, timeout=20)
    assert seen.status_code == 200 and seen.json()["id"] == job_id
    assert (
        httpx.delete(f"{a.base}/api/v1/admin/keys/{key['id']}", headers=admin, timeout=20).status_code == 204
    )
    refused = httpx.get(f"{b.base}/api/v1/images/{job_id}", headers=keyed, timeout=20)
    assert refused.status_code == 401 and refused.json()["detail"] == "invalid api key"


def finished(reader: SseReader, job_id: str) -> bool:
    return any(name == "completed" for name, _ in reader.of(job_id))


def deploy(make_cluster: MakeCluster, broker: TansuBroker, **fields: Any) -> tuple[Cluster, list[Replica]]:
    # every step told (not one a quarter second: a fast machine makes six steps in less)
    cluster = make_cluster(
        broker, lease_seconds=LEASE, jwt_secret=SECRET, max_batch=1, progress_every_seconds=0, **fields
    )
    # clients reach the S3 server as localhost, the service talks to it as 127.0.0.1
    cluster.fields["s3_public_endpoint"] = cluster.fields["s3_endpoint"].replace("127.0.0.1", "localhost")
    replicas = []
    for name in ("api-a", "api-b"):
        port = free_port()
        replicas.append(Replica(cluster.start_api(name, port), port))
    for worker_id in ("w1", "w2"):
        cluster.start_worker(worker_id)
    for replica in replicas:
        wait_for(
            partial(port_open, replica.port), 60, f"{replica.handle.worker_id} to listen", cluster.worker_logs
        )
    for worker in cluster.workers[2:]:
        wait_for(partial(ready, worker), 120, f"{worker.worker_id} to be ready", cluster.worker_logs)
    return cluster, replicas


@pytest.fixture
def deployment(make_cluster: MakeCluster, kafka: TansuBroker) -> Iterator[tuple[Cluster, list[Replica]]]:
    cluster, replicas = deploy(make_cluster, kafka)
    yield cluster, replicas
    for replica in replicas:
        replica.client.close()


def test_replicas_share_live_events_queue_position_and_survive_a_killed_worker(
    deployment: tuple[Cluster, list[Replica]], kafka: TansuBroker
) -> None:
    cluster, (a, b) = deployment
    probe = cluster.api()  # the database, read directly, to check outcomes
    sse, ws = SseReader(b), WsReader(b)
    assert sse.connected.wait(30) and ws.connected.wait(30)

    # 1. A job posted to A, followed live on B (SSE and WebSocket).
    job = a.generate(steps=6, seed=1)["id"]
    wait_for(all_in(probe, [job], "COMPLETED"), 120, "the first job", cluster.worker_logs)
    # A service key made through A acts for the user on B; revoked through A, B refuses it at once.
    revoked_on_a_is_refused_on_b_at_once(probe, a, b, job)
    for reader in (sse, ws):
        wait_for(partial(finished, reader, job), 30, "the completion on B")
        names = [n for n, _ in reader.of(job)]
        assert names[0] == "queued" and names[-1] == "completed"
        steps = [d["step"] for n, d in reader.of(job) if n == "processing" and d.get("total_steps")]
        assert steps == sorted(steps) and steps[-1] == 6 and len(steps) >= 3
    url = b.image(job)["storage_url"]
    assert urllib.parse.urlparse(url).hostname == "localhost"  # signed for the clients' endpoint
    assert httpx.get(url, timeout=10).content.startswith(b"\x89PNG")

    # 2. The queue: positions count down as the jobs ahead finish.
    batch = [a.generate(steps=12, seed=10 + i)["id"] for i in range(6)]
    seen: dict[str, list[int]] = {job_id: [] for job_id in batch}
    etas: list[Any] = []
    waiting = set(batch)
    while waiting:
        for job_id in sorted(waiting):
            image = b.image(job_id)
            if image["status"] != "QUEUED":
                assert image["queue_position"] is None and image["eta_seconds"] is None
                waiting.discard(job_id)
                continue
            seen[job_id].append(image["queue_position"])
            etas.append(image["eta_seconds"])
        time.sleep(0.1)
    # Each job's place only ever goes down. Partitions are shared among workers, so jobs start
    # roughly, not strictly, in order: one on an idle worker's partition may start at once, but
    # with six jobs on two workers some job waits and sees its place count down.
    assert all(places == sorted(places, reverse=True) for places in seen.values()), seen
    assert max(max(places, default=0) for places in seen.values()) >= 3, seen
    assert any(len(set(places)) >= 2 for places in seen.values()), seen
    assert all(isinstance(eta, int) and eta > 0 for eta in etas), etas  # the first job was measured
    wait_for(all_in(probe, batch, "COMPLETED"), 180, "the batch", cluster.worker_logs)

    # 3. A worker SIGKILLed mid-generation: the other one finishes its job, lease + one run later.
    long_job = a.generate(steps=100, seed=99)["id"]
    wait_for(lambda: job_row(cluster, long_job).status.value == "PROCESSING", 60, "the long job to start")
    holder = job_row(cluster, long_job).worker_id
    victim = next(w for w in cluster.workers if w.worker_id == holder)
    time.sleep(1)  # into the generation
    victim.kill()
    killed_at = time.monotonic()
    wait_for(all_in(probe, [long_job], "COMPLETED"), LEASE + 240, "the takeover", cluster.worker_logs)
    took = time.monotonic() - killed_at
    row = job_row(cluster, long_job)
    assert row.worker_id != holder and row.attempts == 2
    assert row.started_at is not None and row.completed_at is not None
    generation = (row.completed_at - row.started_at).total_seconds()
    print(
        f"\ntakeover: completed {took:.1f} s after the kill; lease {LEASE} s, generation {generation:.1f} s"
    )
    assert took <= LEASE + generation + 5.0

    every = [job, *batch, long_job]
    assert_nothing_lost_nothing_charged_twice(probe, every)
    topic = Topics(cluster.fields["kafka_topic_prefix"]).completed
    outcomes = {r.body["event_id"]: r for r in read_until_quiet(kafka.client_config(), topic)}
    per_job = [r.key for r in outcomes.values() if r.body["event_type"] == "generation.completed"]
    assert sorted(per_job) == sorted(every)  # each completion published once, after dedupe
    for reader in (sse, ws):
        assert any(n == "completed" for n, _ in reader.of(long_job))
        reader.close()


def test_requests_arriving_while_the_broker_is_down_are_accepted_and_completed_after(
    make_cluster: MakeCluster, private_broker: TansuBroker, kafka_prefix: str
) -> None:
    private_broker.start()
    config = {**TANSU_CLIENT_CONFIG, "group.id": kafka_prefix + "workers", "message.timeout.ms": 2000}
    cluster, (a, b) = deploy(make_cluster, private_broker, kafka_client_config=json.dumps(config))
    probe = cluster.api()
    first = a.generate(steps=2, seed=1)["id"]
    wait_for(all_in(probe, [first], "COMPLETED"), 120, "a job before the outage", cluster.worker_logs)

    private_broker.stop()  # and with it every topic and offset: Tansu keeps them in memory
    during = [replica.generate(steps=2, seed=10 + i)["id"] for i, replica in enumerate((a, b, a, b))]
    assert {b.image(j)["status"] for j in during} == {"QUEUED"}  # accepted, charged, in the outbox
    time.sleep(3)
    assert {b.image(j)["status"] for j in during} == {"QUEUED"}
    private_broker.start()

    wait_for(all_in(probe, during, "COMPLETED"), 180, "the jobs once the broker is back", cluster.worker_logs)
    assert_nothing_lost_nothing_charged_twice(probe, [first, *during])
    for replica in (a, b):
        replica.client.close()
