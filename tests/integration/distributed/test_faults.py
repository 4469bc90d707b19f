"""Faults on real servers; each test ends with "nothing lost, nothing charged twice" checked
from the job table and the token ledger."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from confluent_kafka import Producer

from nexus_image.adapters.diffusers import DiffusersGenerator
from nexus_image.adapters.kafka import Topics
from nexus_image.domain.job import ImageJob
from nexus_image.entrypoints.composition import Application, compose
from nexus_image.entrypoints.worker import WorkerLoop
from tests.support.cluster import (
    WELCOME,
    Cluster,
    all_in,
    assert_nothing_lost_nothing_charged_twice,
    request,
    wait_for,
)
from tests.support.driver import hand_out
from tests.support.kafka_read import committed_total, read_topic, read_until_quiet
from tests.support.moto import MotoServer
from tests.support.servers import free_port
from tests.support.tansu import TANSU_CLIENT_CONFIG, TansuBroker

from .conftest import MakeCluster

pytestmark = pytest.mark.integration


def job_row(app: Application, job_id: str) -> ImageJob:
    with app.service.deps.uow_factory() as uow:
        job = uow.jobs.get(job_id)
    assert job is not None
    return job


def completions(cluster: Cluster, broker: TansuBroker, job_id: str) -> list[str]:
    """The outcome events of the job (the test's topics hold only its own jobs): waits for the
    first (the relay sends it a moment after the job settles), then reads until quiet."""
    topic = Topics(cluster.fields["kafka_topic_prefix"]).completed
    read_topic(broker.client_config(), topic, 1)
    return [r.body["event_type"] for r in read_until_quiet(broker.client_config(), topic) if r.key == job_id]


def test_the_broker_is_down_when_the_request_is_made(
    make_cluster: MakeCluster, private_broker: TansuBroker
) -> None:
    prefix = "down."
    config = {**TANSU_CLIENT_CONFIG, "group.id": prefix + "workers", "message.timeout.ms": 2000}
    cluster = make_cluster(private_broker, kafka_topic_prefix=prefix, kafka_client_config=json.dumps(config))
    api = cluster.api()
    job = request(api)
    assert job.status == "QUEUED"  # accepted and charged; its event waits in the outbox
    assert api.service.relay.execute() == 0

    worker = cluster.start_worker("w1")
    wait_for(
        lambda: "ready" in worker.log(), 120, "the worker to start without a broker", cluster.worker_logs
    )
    assert job_row(api, job.id).status.value == "QUEUED"
    private_broker.start()

    wait_for(
        all_in(api, [job.id], "COMPLETED"), 120, "the job to run once the broker is back", cluster.worker_logs
    )
    assert completions(cluster, private_broker, job.id) == ["generation.completed"]
    assert_nothing_lost_nothing_charged_twice(api, [job.id])


def test_a_worker_killed_mid_generation_is_replaced(make_cluster: MakeCluster, kafka: TansuBroker) -> None:
    cluster = make_cluster(kafka, lease_seconds=6)
    api = cluster.api()
    first = cluster.start_worker("w1")
    job = request(api, steps=50)  # long enough to be caught mid-way, well under the stale timeout

    def running_on_w1() -> bool:
        row = job_row(api, job.id)
        return row.status.value == "PROCESSING" and row.worker_id == "w1"

    wait_for(running_on_w1, 120, "w1 to start the job", cluster.worker_logs)
    first.kill()  # SIGKILL: no goodbye, no commit, the job stays PROCESSING
    assert job_row(api, job.id).status.value == "PROCESSING"

    cluster.start_worker("w2")
    wait_for(all_in(api, [job.id], "COMPLETED"), 150, "w2 to finish the job", cluster.worker_logs)
    row = job_row(api, job.id)
    assert (row.worker_id, row.attempts) == ("w2", 2)
    assert completions(cluster, kafka, job.id) == ["generation.completed"]
    assert_nothing_lost_nothing_charged_twice(api, [job.id])


def test_the_same_message_delivered_three_times_runs_once(cluster: Cluster, kafka: TansuBroker) -> None:
    api = cluster.api()
    job = request(api)
    assert hand_out(api.service, room=1) == 2  # its acceptance, and its dispatch to the workers
    # the job's model's requests topic: only the workers serving that model read it
    requests = Topics(cluster.fields["kafka_topic_prefix"]).requests_for(job.parameters.model)
    [original] = read_topic(kafka.client_config(), requests, 1)
    duplicate = Producer({"bootstrap.servers": kafka.bootstrap})
    for _ in range(2):  # what a relay that crashed before marking the event sent would do
        duplicate.produce(
            requests,
            key=original.key.encode(),
            value=json.dumps(original.body).encode(),
            headers=list(original.headers.items()),
        )
    assert duplicate.flush(10) == 0

    cluster.start_worker("w1", "--max-batch", "4")
    wait_for(all_in(api, [job.id], "COMPLETED"), 120, "the job to complete", cluster.worker_logs)
    group = kafka.client_config(**{"group.id": cluster.fields["kafka_topic_prefix"] + "workers"})
    wait_for(lambda: committed_total(group, requests) == 3, 30, "all three deliveries to be committed")
    assert job_row(api, job.id).attempts == 1
    assert completions(cluster, kafka, job.id) == ["generation.completed"]
    assert_nothing_lost_nothing_charged_twice(api, [job.id])


def in_process_worker(cluster: Cluster, generator: DiffusersGenerator, **overrides: object) -> Application:
    app = compose("worker", cluster.settings(**overrides), generator=generator, worker_id="inproc")
    cluster.apps.append(app)
    return app


def drive(worker: Application, until: Callable[[], bool], timeout: float = 120) -> None:
    """Dispatch, relay and work in this thread until `until()`."""
    assert worker.queue is not None
    loop = WorkerLoop(worker.service.worker, worker.queue, poll_seconds=0.2)
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "timed out driving the worker"
        hand_out(worker.service, room=1)
        loop.run_once()


def test_storage_down_during_upload_is_retried_until_it_returns(
    cluster: Cluster, tiny_generator: DiffusersGenerator, private_s3: MotoServer
) -> None:
    api = cluster.api(s3_endpoint=private_s3.endpoint)
    worker = in_process_worker(cluster, tiny_generator, s3_endpoint=private_s3.endpoint)
    process = worker.service.worker
    process.finish.retry.delays = (0.2, 0.5, 1.0)
    pauses: list[float] = []

    def sleep_while_s3_returns(seconds: float) -> None:
        pauses.append(seconds)
        if not private_s3.running:
            private_s3.start()
        time.sleep(seconds)

    process.finish.retry.sleep = sleep_while_s3_returns
    private_s3.stop()
    job = request(api)
    drive(worker, all_in(api, [job.id], "COMPLETED"))

    assert pauses, "the upload was not retried"
    row = job_row(api, job.id)
    assert row.image_key is not None and row.thumbnail_key is not None
    assert api.service.deps.storage.get(row.image_key).startswith(b"\x89PNG")
    assert_nothing_lost_nothing_charged_twice(api, [job.id])


def test_storage_down_for_good_fails_the_job_and_refunds_once(
    cluster: Cluster, kafka: TansuBroker, tiny_generator: DiffusersGenerator
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    api = cluster.api()
    worker = in_process_worker(cluster, tiny_generator, s3_endpoint=nowhere)
    worker.service.worker.finish.retry.delays = (0.05, 0.1)
    job = request(api, resolution="768x768")
    assert api.service.tokens.balance("alice").balance == WELCOME - 10

    drive(worker, all_in(api, [job.id], "FAILED"))
    worker.service.relay.drain()
    row = job_row(api, job.id)
    assert row.failure_reason is not None and "storing the image failed" in row.failure_reason
    assert api.service.tokens.balance("alice").balance == WELCOME
    assert completions(cluster, kafka, job.id) == ["generation.failed"]
    [failed] = read_topic(kafka.client_config(), Topics(cluster.fields["kafka_topic_prefix"]).completed, 1)
    assert failed.body["refunded"] == 10
    assert_nothing_lost_nothing_charged_twice(api, [job.id])
