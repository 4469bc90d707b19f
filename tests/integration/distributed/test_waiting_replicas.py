"""`Prefer: wait=N` across API replicas: a job requested on one replica is waited for on
another, which hears of its end through its own feed of the broker's events (or reads it)."""

from __future__ import annotations

import time
from functools import partial

import httpx
import jwt
import pytest

from tests.support.cluster import USER, wait_for
from tests.support.servers import free_port, port_open
from tests.support.tansu import TansuBroker

from .conftest import MakeCluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SECRET = "waiting-tests-secret-that-is-long-enough-0123456789"


def test_a_replica_that_did_not_take_the_request_answers_once_it_completed(
    make_cluster: MakeCluster, kafka: TansuBroker
) -> None:
    cluster = make_cluster(kafka, jwt_secret=SECRET, max_batch=1)
    ports = [free_port(), free_port()]
    for name, port in zip(("api-a", "api-b"), ports, strict=True):
        cluster.start_api(name, port)
    worker = cluster.start_worker("w1")
    for port in ports:
        wait_for(partial(port_open, port), 60, f"the replica on {port}", cluster.worker_logs)
    wait_for(lambda: "ready" in worker.log(), 120, "the worker to be ready", cluster.worker_logs)
    token = jwt.encode({"sub": USER, "exp": int(time.time()) + 900}, SECRET, algorithm="HS256")
    headers = {"Authorization": f"Bearer {token}"}
    a, b = (f"http://127.0.0.1:{port}" for port in ports)

    created = httpx.post(
        f"{a}/api/v1/images/generate", json={"prompt": "a harbour", "steps": 2}, headers=headers
    )
    assert created.status_code == 201, created.text
    job = created.json()["id"]
    waited = httpx.get(f"{b}/api/v1/images/{job}", headers={**headers, "Prefer": "wait=30"}, timeout=60)

    assert waited.status_code == 200, waited.text
    assert waited.headers["Preference-Applied"] == "wait=30"
    assert waited.json()["status"] == "COMPLETED", cluster.worker_logs()
