"""The shipped alerts and dashboard, evaluated on a real Prometheus scraping a live API process
and a live worker process (PostgreSQL, a Kafka-protocol broker, S3), after traffic that includes
a forced failure, a moderated prompt and a worker hung on its first job.

It fails when a query errors, names a metric, label or label value the processes do not export,
or reads 0 (or nothing) where the traffic says otherwise: with a label set created on first use,
the forced failure's increment is lost to rate() and the failure-rate queries read 0."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml

from nexus_image.adapters.prometheus import GPU_SERIES
from tests.support import promql
from tests.support.cluster import USER, Cluster, wait_for
from tests.support.pattern_worker import FAIL_MARKER, HANG_MARKER
from tests.support.prometheus import PrometheusServer
from tests.support.servers import free_port, port_open
from tests.support.tansu import TansuBroker

from .conftest import MakeCluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MONITORING = Path(__file__).resolve().parents[3] / "deploy" / "monitoring"
SECRET = "prometheus-tests-secret-that-is-long-enough-0123456789"

# Expressions that read 0 after this traffic, and why (they still must return a series).
ZERO_AFTER_TRAFFIC = {
    "ImageQueueBacklog": "the queue is drained",
    "Queue (jobs waiting / processing)": "the queue is drained",
    "ApiErrorRateHigh": "no server error is forced",
    "API server errors (share of responses)": "no server error is forced",
    "UnsafeOutputsRising": "pattern images pass the output check",
    "Output check: flagged images (share)": "pattern images pass the output check",
    "Fair queue: images waiting by tier": "the queue is drained",
    "Fair queue: expired jobs by tier (per min)": "no deadline passes",
    "Fair queue: requests refused, user queue full, by tier (per min)": "no user fills their queue",
    "ImageQueueWaitHigh": "no job waits five minutes",
    "ImageWebhooksFailing": "no request names a webhook",
    "Webhooks: attempts by outcome (per min)": "no request names a webhook",
}
# Whole expressions that are empty on a healthy deployment (absent() and `unless` alerts).
EMPTY_WHEN_HEALTHY = {"JobsStuckProcessing", "NoWorkerRunning", "ApiDown"}


def shipped_jobs() -> dict[str, str]:
    """The job names of the shipped scrape config (the alerts select on them): role → name."""
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    names = [job["job_name"] for job in config["scrape_configs"]]
    found = {role: next(n for n in names if role in n) for role in ("api", "worker")}
    return found


def queries() -> list[tuple[str, str]]:
    """(name, expression) of every alert rule and every dashboard target."""
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"][0]["rules"]
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    found = [(rule["alert"], rule["expr"]) for rule in rules]
    found += [(panel["title"], t["expr"]) for panel in dashboard["panels"] for t in panel["targets"]]
    return found


class Client:
    def __init__(self, port: int) -> None:
        claims = {"sub": USER, "exp": int(time.time()) + 900}
        token = jwt.encode(claims, SECRET, algorithm="HS256")
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=20
        )

    def generate(self, prompt: str, **body: Any) -> str:
        response = self.http.post("/api/v1/images/generate", json={"prompt": prompt, "steps": 2, **body})
        assert response.status_code == 201, response.text
        job_id: str = response.json()["id"]
        return job_id

    def status(self, job_id: str) -> str:
        status: str = self.http.get(f"/api/v1/images/{job_id}").json()["status"]
        return status


class Stack:
    def __init__(self, cluster: Cluster, prometheus: PrometheusServer, client: Client, release: Path) -> None:
        self.cluster, self.prometheus, self.client, self.release = cluster, prometheus, client, release

    def settled(self, job_ids: list[str]) -> bool:
        return all(self.client.status(j) in ("COMPLETED", "FAILED", "CANCELLED") for j in job_ids)


@pytest.fixture
def stack(make_cluster: MakeCluster, kafka: TansuBroker, tmp_path: Path) -> Iterator[Stack]:
    cluster = make_cluster(kafka, jwt_secret=SECRET, max_batch=1)
    api_port, worker_port = free_port(), free_port()
    release = tmp_path / "release-the-hung-job"
    cluster.start_api("api", api_port)
    cluster.start_worker(
        "w1",
        "--metrics-port",
        str(worker_port),
        "--release-file",
        str(release),
        module="tests.support.pattern_worker",
    )
    jobs = shipped_jobs()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(MONITORING / "alerts.yml")],
        "scrape_configs": [
            {"job_name": jobs["api"], "static_configs": [{"targets": [f"127.0.0.1:{api_port}"]}]},
            {"job_name": jobs["worker"], "static_configs": [{"targets": [f"127.0.0.1:{worker_port}"]}]},
        ],
    }
    folder = tmp_path / "prometheus"
    folder.mkdir()
    prometheus = PrometheusServer(folder, config)
    try:
        wait_for(
            lambda: port_open(api_port) and port_open(worker_port), 90, "API and worker", cluster.worker_logs
        )
        prometheus.start()
        yield Stack(cluster, prometheus, Client(api_port), release)
    finally:
        release.touch()
        prometheus.stop()


def scraped_twice(prometheus: PrometheusServer, jobs: dict[str, str]) -> bool:
    """Both targets up and scraped at least twice: the zero values are in before any traffic."""
    for job in jobs.values():
        found = prometheus.query(f'count_over_time(up{{job="{job}"}}[5m]) >= 2 and up{{job="{job}"}} == 1')
        if not found:
            return False
    return True


def value(prometheus: PrometheusServer, expr: str) -> float | None:
    found = prometheus.query(expr)
    return max(v for _, v in found) if found else None


def exported_labels(prometheus: PrometheusServer, names: set[str]) -> dict[str, set[str]]:
    """label name → values, over every series of the named metrics that Prometheus holds."""
    labels: dict[str, set[str]] = {}
    for name in names:
        for series in prometheus.series(name):
            for label, label_value in series.items():
                labels.setdefault(label, set()).add(label_value)
    return labels


def test_every_alert_and_panel_reads_what_the_traffic_did(stack: Stack) -> None:
    prometheus, client = stack.prometheus, stack.client
    jobs = shipped_jobs()
    wait_for(lambda: scraped_twice(prometheus, jobs), 60, "two scrapes of both targets", prometheus.log)
    for rule in prometheus.rules():
        assert rule["health"] in ("ok", "unknown"), rule

    # A fresh worker hung on its very first job: the stuck-jobs alert goes pending.
    hung = client.generate(f"a lighthouse {HANG_MARKER}")
    wait_for(lambda: client.status(hung) == "PROCESSING", 60, "the hung job to be taken")
    wait_for(lambda: (value(prometheus, "max(image_generation_processing)") or 0) > 0, 30, "processing > 0")
    stuck_expr = dict(queries())["JobsStuckProcessing"]
    assert prometheus.query(stuck_expr), (
        "JobsStuckProcessing reads nothing for a worker stuck on its first job"
    )

    def stuck_pending() -> bool:
        alerts = prometheus.api("alerts")["alerts"]
        return any(a["labels"]["alertname"] == "JobsStuckProcessing" for a in alerts)

    wait_for(stuck_pending, 20, "JobsStuckProcessing pending in Prometheus", prometheus.log)
    stack.release.touch()

    # Traffic: several styles and resolutions, one forced failure, one moderated prompt.
    job_ids = [hung]
    for style, resolution in [("anime", "512x512"), ("realistic", "768x768"), ("3d", "512x512")]:
        job_ids.append(client.generate("a harbour at dusk", style=style, resolution=resolution))
    failed = client.generate(f"a harbour {FAIL_MARKER}", resolution="512x512")
    job_ids.append(failed)
    job_ids.append(client.generate("a quiet forest", resolution="1024x1024"))
    refused = client.http.post("/api/v1/images/generate", json={"prompt": "a graphic beheading with gore"})
    assert 400 <= refused.status_code < 500, refused.text
    assert client.http.get("/api/v1/images/user/me").status_code == 200
    wait_for(lambda: stack.settled(job_ids), 120, "every job to settle", stack.cluster.worker_logs)
    assert client.status(failed) == "FAILED"
    assert [client.status(j) for j in job_ids if j != failed] == ["COMPLETED"] * (len(job_ids) - 1)

    def caught_up() -> bool:
        finished = value(prometheus, "sum(image_generation_finished_total)")
        queued = value(prometheus, "max(image_generation_queue_size) + max(image_generation_processing)")
        return finished == len(job_ids) and queued == 0

    wait_for(caught_up, 30, "Prometheus to see every finished job and an empty queue", prometheus.log)
    time.sleep(2)  # a couple more scrapes after the last event, so rate() has both sides

    gpu_exported = bool(prometheus.series("gpu_memory_total_bytes"))
    problems: list[str] = []
    for name, expr in queries():
        named = promql.metrics(expr)
        if not gpu_exported and named & set(GPU_SERIES):
            # No NVIDIA GPU on this machine: the GPU queries must still parse and run.
            prometheus.query(expr)
            continue
        for metric in named:
            if not prometheus.series(metric):
                problems.append(f"{name}: no series {metric}")
        labels = exported_labels(prometheus, named)
        for label in promql.grouping_labels(expr) - {"le"}:
            if label not in labels:
                problems.append(f"{name}: groups by {label}, which {sorted(named)} do not carry")
        for label, operator, wanted in promql.matchers(expr):
            if label not in labels:
                problems.append(f"{name}: filters on {label}, which {sorted(named)} do not carry")
            elif operator == "=" and wanted not in labels[label]:
                problems.append(f"{name}: {label}={wanted!r} is not exported (have {sorted(labels[label])})")
        if name in EMPTY_WHEN_HEALTHY:
            if prometheus.query(expr):
                problems.append(f"{name}: fires on a healthy deployment")
            continue
        figure = prometheus.query(promql.without_threshold(expr))
        if not figure:
            problems.append(f"{name}: reads nothing")
        elif name not in ZERO_AFTER_TRAFFIC and max(v for _, v in figure) <= 0:
            problems.append(f"{name}: reads 0 after the traffic ({promql.without_threshold(expr)})")
    assert not problems, "\n".join(problems)

    # The failure-rate figures see the one forced failure out of the finished jobs.
    failure_rate = value(prometheus, "sum(increase(image_generation_failures_total[10m]))")
    assert failure_rate is not None and failure_rate >= 0.5, failure_rate
    routes = {
        labels["route"]
        for labels, _ in prometheus.query("count by (route) (http_request_duration_seconds_count)")
    }
    assert "/metrics" in routes  # Prometheus' own scrapes are in the histogram ...
    latency_selector = dict(queries())["ApiLatencyHigh"].split("{", 1)[1].split("}", 1)[0]
    kept = {
        labels["route"]
        for labels, _ in prometheus.query(
            f"count by (route) (http_request_duration_seconds_count{{{latency_selector}}})"
        )
    }
    assert kept and not kept & {
        "/metrics",
        "/health",
        "/ready",
        "/api/v1/metrics",
        "/api/v1/health",
        "/api/v1/ready",
    }  # ... and out of the latency alert
