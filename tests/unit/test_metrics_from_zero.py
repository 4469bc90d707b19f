"""Metrics that count from zero: every known label value exists at 0 from the start, with the
process and Python runtime series; the queue gauges are fed by a loop (a scrape never queries
the database); the worker's metrics port answers /health before the model is loaded."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from nexus_image.adapters.moderation import REFUSAL_CATEGORIES, REFUSAL_LAYERS
from nexus_image.adapters.prometheus import PrometheusMetrics, QueueGauges
from nexus_image.entrypoints.composition import compose
from nexus_image.entrypoints.settings import Settings
from nexus_image.entrypoints.worker.process import WorkerProcess
from nexus_image.testing import PatternGenerator
from tests.support.servers import free_port


def exposed(metrics: PrometheusMetrics) -> str:
    return generate_latest(metrics.registry).decode()


def get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read().decode()


def test_a_fresh_registry_has_every_known_series_at_zero() -> None:
    text = exposed(PrometheusMetrics(refusal_categories=REFUSAL_CATEGORIES, refusal_layers=REFUSAL_LAYERS))
    for series in (
        'image_generation_failures_total{resolution="512x512"} 0.0',
        'image_generation_requests_total{resolution="1024x1536",style="anime"} 0.0',
        'image_generation_requests_total{resolution="768x768",style="3d"} 0.0',
        'image_generation_duration_seconds_count{resolution="1024x1024"} 0.0',
        'image_generation_finished_total{outcome="completed"} 0.0',
        'image_generation_finished_total{outcome="failed"} 0.0',
        'image_generation_finished_total{outcome="cancelled"} 0.0',
        'moderation_refusals_total{category="minors",layer="semantic"} 0.0',
        'moderation_refusals_total{category="self_harm",layer="rules"} 0.0',
        "image_generation_queue_size 0.0",
        "image_generation_processing 0.0",
    ):
        assert series in text, series
    assert text.count("image_generation_requests_total{") == 5 * 4
    assert "python_info{" in text
    assert "python_gc_objects_collected_total" in text
    assert "process_cpu_seconds_total" in text  # Linux: the process collector reads /proc


def test_the_composed_metrics_start_every_refusal_the_moderators_can_give_at_zero(tmp_path: Path) -> None:
    app = compose("api", Settings(data_dir=tmp_path))
    try:
        text = exposed(app.metrics)
    finally:
        app.close()
    assert set(REFUSAL_CATEGORIES) == {"minors", "sexual_violence", "self_harm", "violence", "hate", "sexual"}
    for category in REFUSAL_CATEGORIES:
        for layer in ("rules", "semantic"):
            assert f'moderation_refusals_total{{category="{category}",layer="{layer}"}} 0.0' in text
    assert "gpu_" not in text  # the API generates nothing: no GPU series


def test_known_values_are_parameters_and_the_first_event_counts_from_zero() -> None:
    metrics = PrometheusMetrics(styles=("anime",), resolutions=("512x512",), checkers=("nudenet",))
    text = exposed(metrics)
    assert 'image_safety_checks_total{checker="nudenet",outcome="flagged"} 0.0' in text
    assert 'image_safety_checks_total{checker="nudenet",outcome="passed"} 0.0' in text
    assert 'image_safety_score_count{checker="nudenet"} 0.0' in text
    assert 'style="realistic"' not in text
    metrics.generation_requested("anime", "512x512", 5)
    metrics.generation_finished("failed", "512x512", 1.0)
    text = exposed(metrics)
    assert 'image_generation_requests_total{resolution="512x512",style="anime"} 1.0' in text
    assert 'image_generation_failures_total{resolution="512x512"} 1.0' in text


def test_queue_gauges_follow_the_counts_and_keep_the_last_value_on_failure() -> None:
    metrics = PrometheusMetrics()
    answers: list[dict[str, int] | Exception] = [{"QUEUED": 3, "PROCESSING": 1}, ConnectionError("down")]
    calls = 0

    def counts() -> dict[str, int]:
        nonlocal calls
        calls += 1
        answer = answers[min(calls, len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    gauges = QueueGauges(metrics, counts, every_seconds=60)
    assert calls == 0  # nothing is read until asked (or until the loop runs)
    assert gauges.refresh() is True
    assert gauges.refresh() is False
    text = exposed(metrics)  # a scrape reads no counts
    assert calls == 2
    assert "image_generation_queue_size 3.0" in text and "image_generation_processing 1.0" in text


def test_the_refresh_loop_runs_from_start_to_stop() -> None:
    metrics = PrometheusMetrics()
    seen = threading.Event()

    def counts() -> dict[str, int]:
        seen.set()
        return {"QUEUED": 7}

    gauges = QueueGauges(metrics, counts, every_seconds=0.01)
    gauges.start()
    try:
        assert seen.wait(5)
    finally:
        gauges.stop()
    assert gauges._thread is None
    assert "image_generation_queue_size 7.0" in exposed(metrics)


def listening_address(port: int) -> str:
    """The IPv4 address a socket listens on at `port`, from the kernel's table (Linux)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, found = local.split(":")
        if state == "0A" and int(found, 16) == port:  # 0A: LISTEN
            return ".".join(str(b) for b in reversed(bytes.fromhex(address)))
    raise AssertionError(f"nothing listens on {port}")


@pytest.mark.parametrize(("host", "expected"), [(None, "127.0.0.1"), ("0.0.0.0", "0.0.0.0")])
def test_the_worker_metrics_port_listens_on_loopback_unless_configured(
    tmp_path: Path, host: str | None, expected: str
) -> None:
    settings = Settings(data_dir=tmp_path, image_safety="none")
    if host is not None:
        settings = settings.model_copy(update={"worker_metrics_host": host})
    app = compose("worker", settings)
    port = free_port()
    app.serve_metrics(port)
    try:
        assert listening_address(port) == expected
    finally:
        app.close()


def test_the_worker_metrics_port_serves_health_and_metrics(tmp_path: Path) -> None:
    app = compose("worker", Settings(data_dir=tmp_path, image_safety="none"))
    port = free_port()
    app.serve_metrics(port)
    try:
        status, content_type, body = get(f"http://127.0.0.1:{port}/health")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        assert content_type == "application/json"
        status, _, text = get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert 'image_generation_failures_total{resolution="512x512"} 0.0' in text
        assert "process_cpu_seconds_total" in text
    finally:
        app.close()


class SlowLoadingGenerator(PatternGenerator):
    """A generator whose model takes until `release` to load."""

    def __init__(self) -> None:
        super().__init__()
        self.loading = threading.Event()
        self.release = threading.Event()

    def load(self) -> None:
        self.loading.set()
        self.release.wait(10)


def test_worker_health_answers_before_the_model_is_loaded(tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(data_dir=tmp_path, worker_metrics_port=port, image_safety="none")
    generator = SlowLoadingGenerator()
    process = WorkerProcess(settings, "w-health", generator=generator)
    thread = threading.Thread(target=process.run, kwargs={"install_signals": False})
    thread.start()
    try:
        assert generator.loading.wait(30)  # (a stop sent before the loops start is not kept)
        status, _, body = get(f"http://127.0.0.1:{port}/health")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        assert not process.ready.is_set()  # the model is still loading
    finally:
        generator.release.set()
        process.stop()
        thread.join(10)
    assert not thread.is_alive()
