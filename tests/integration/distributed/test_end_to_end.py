"""The production path on real servers: request -> outbox -> relay -> Kafka -> `nexus-image
worker` (tiny pipeline) -> S3 -> PostgreSQL -> completion event."""

from __future__ import annotations

import io
import threading
import urllib.request

import pytest
from PIL import Image

from nexus_image.adapters.kafka import Topics
from nexus_image.entrypoints.worker.process import WorkerProcess
from nexus_image.testing import PatternGenerator
from tests.support.cluster import (
    USER,
    Cluster,
    all_in,
    assert_nothing_lost_nothing_charged_twice,
    request,
    wait_for,
)
from tests.support.kafka_read import read_topic
from tests.support.servers import free_port
from tests.support.tansu import TansuBroker

pytestmark = pytest.mark.integration


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
        return body


def test_a_request_is_generated_by_a_worker_process_and_announced(
    cluster: Cluster, kafka: TansuBroker
) -> None:
    api = cluster.api()
    metrics_port = free_port()
    worker = cluster.start_worker("gpu-0", "--max-batch", "2", "--metrics-port", str(metrics_port))
    job = request(api, resolution="768x768", seed=42)
    assert job.status == "QUEUED"

    wait_for(all_in(api, [job.id], "COMPLETED"), 180, "the job to complete", cluster.worker_logs)
    view = api.service.get_image(USER, job.id)
    assert view.storage_url is not None and "X-Amz-Signature" in view.storage_url
    with Image.open(io.BytesIO(download(view.storage_url))) as image:
        assert image.format == "PNG"
        assert image.size == (768, 768)
        assert image.text["seed"] == "42"  # type: ignore[attr-defined]
    assert view.thumbnail_url is not None
    with Image.open(io.BytesIO(download(view.thumbnail_url))) as thumbnail:
        assert max(thumbnail.size) == 256

    topics = Topics(cluster.fields["kafka_topic_prefix"])
    [done] = read_topic(kafka.client_config(), topics.completed, 1)
    assert done.key == job.id
    assert done.body["event_type"] == "generation.completed"
    assert done.body["image_key"].endswith(f"{job.id}.png")
    assert done.headers["event_id"].decode() == done.body["event_id"]
    # requested, started, and the first and last steps at least (the steps between are paced)
    progress = read_topic(kafka.client_config(), topics.progress, 4)
    assert {r.body["event_type"] for r in progress} >= {"generation.started", "generation.progress"}

    metrics = download(f"http://127.0.0.1:{metrics_port}/metrics").decode()
    assert 'image_generation_finished_total{outcome="completed"} 1.0' in metrics
    assert "s3_upload_duration_seconds_count 2.0" in metrics

    assert worker.terminate() == 0, worker.log()  # SIGTERM: a clean stop
    assert "stopped" in worker.log()
    assert_nothing_lost_nothing_charged_twice(api, [job.id])


def test_the_worker_process_embeds_in_a_host_process(cluster: Cluster) -> None:
    """WorkerProcess as a library (no signal handlers): same loops, same Kafka group; `stop()`
    finishes the batch in hand and leaves the group."""
    api = cluster.api()
    process = WorkerProcess(
        cluster.settings(worker_metrics_port=0, max_batch=2), "embedded", generator=PatternGenerator()
    )
    thread = threading.Thread(target=process.run, kwargs={"install_signals": False})
    thread.start()
    try:
        assert process.ready.wait(60)
        jobs = [request(api, seed=seed).id for seed in range(3)]
        wait_for(all_in(api, jobs, "COMPLETED"), 60, "the embedded worker to finish")
    finally:
        process.stop()
        thread.join(30)
    assert not thread.is_alive()
    assert_nothing_lost_nothing_charged_twice(api, jobs)
