"""A whole deployment for tests: PostgreSQL, a Kafka-protocol broker, an S3 server, the API side
in the test process and worker processes started like production ones (`nexus-image worker`).

Each test gets its own database, topic prefix, consumer group and bucket, so tests never see
each other's jobs even though the servers are shared."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_image.application import GenerateImage, ImageView
from nexus_image.domain.account import EntryKind
from nexus_image.entrypoints.composition import Application, compose
from nexus_image.entrypoints.settings import Settings
from tests.support.tansu import TANSU_CLIENT_CONFIG

ROOT = Path(__file__).resolve().parents[2]
NEXUS_IMAGE = str(Path(sys.executable).with_name("nexus-image"))  # the installed console script
USER = "alice"
WELCOME = 10_000


def wait_for(
    check: Callable[[], bool], timeout: float, what: str, on_timeout: Callable[[], str] = str
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{on_timeout()}")
        time.sleep(0.05)


@dataclass
class WorkerHandle:
    worker_id: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM: the worker finishes its batch and exits."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(30)


@dataclass
class Cluster:
    fields: dict[str, Any]
    tmp: Path
    workers: list[WorkerHandle] = field(default_factory=list)
    apps: list[Application] = field(default_factory=list)

    def settings(self, **overrides: Any) -> Settings:
        return Settings(**{**self.fields, **overrides})

    def env(self, **overrides: Any) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_IMAGE_")}
        for name, value in {**self.fields, **overrides}.items():
            env[f"NEXUS_IMAGE_{name.upper()}"] = str(value)
        env["HF_HUB_OFFLINE"] = "1"
        return env

    def api(self, **overrides: Any) -> Application:
        """The API side: requests, reads, relay; no generator."""
        app = compose("api", self.settings(**overrides))
        self.apps.append(app)
        return app

    def _spawn(self, name: str, log_name: str, command: list[str], env: dict[str, str]) -> WorkerHandle:
        log_path = self.tmp / f"{log_name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        handle = WorkerHandle(name, process, log_path)
        self.workers.append(handle)
        return handle

    def start_worker(self, worker_id: str, *args: str, module: str = "", **overrides: Any) -> WorkerHandle:
        """`nexus-image worker` in a subprocess; `module` runs a test stand-in instead."""
        command = [sys.executable, "-m", module] if module else [NEXUS_IMAGE, "worker"]
        command += ["--worker-id", worker_id, "--metrics-port", "0", *args]
        return self._spawn(worker_id, f"worker-{worker_id}", command, self.env(**overrides))

    def start_api(self, name: str, port: int, **overrides: Any) -> WorkerHandle:
        """`nexus-image serve` in a subprocess, without the in-process worker, as in production."""
        command = [NEXUS_IMAGE, "serve", "--port", str(port)]
        return self._spawn(name, f"api-{name}", command, self.env(embedded_worker=False, **overrides))

    def start_dispatcher(self, name: str, **overrides: Any) -> WorkerHandle:
        """`nexus-image dispatcher` in a subprocess: a standalone dispatcher candidate."""
        return self._spawn(name, f"dispatcher-{name}", [NEXUS_IMAGE, "dispatcher"], self.env(**overrides))

    def worker_logs(self) -> str:
        return "\n".join(f"--- {w.worker_id} (rc={w.process.poll()})\n{w.log()}" for w in self.workers)

    def close(self) -> None:
        for worker in self.workers:
            worker.kill()
        for app in self.apps:
            app.close()


def request(app: Application, **params: Any) -> ImageView:
    values: dict[str, Any] = {"prompt": "a lighthouse at dawn", "steps": 2, "seed": 1, **params}
    return app.service.request_generation(GenerateImage(user_id=USER, **values))


def statuses(app: Application, job_ids: list[str]) -> dict[str, str]:
    with app.service.deps.uow_factory() as uow:
        return {job.id: job.status.value for job in uow.jobs.list_by_ids(job_ids)}


def all_in(app: Application, job_ids: list[str], status: str) -> Callable[[], bool]:
    return lambda: set(statuses(app, job_ids).values()) == {status}


def assert_nothing_lost_nothing_charged_twice(app: Application, job_ids: list[str], user: str = USER) -> None:
    """Every job settled once: one debit each, a refund only for FAILED/CANCELLED ones and only
    once, and the balance equal to the ledger's sum."""
    service = app.service
    with service.deps.uow_factory() as uow:
        jobs = {job.id: job for job in uow.jobs.list_by_ids(job_ids)}
    assert set(jobs) == set(job_ids), "a job row is missing"
    ledger = service.tokens.ledger(user)
    for job_id, job in jobs.items():
        entries = [e for e in ledger if e.job_id == job_id]
        debits = [e for e in entries if e.kind is EntryKind.DEBIT]
        refunds = [e for e in entries if e.kind is EntryKind.REFUND]
        assert [e.amount for e in debits] == [-job.tokens_cost], f"{job_id}: debits {debits}"
        expected_refunds = [job.tokens_cost] if job.refund_due else []
        assert [e.amount for e in refunds] == expected_refunds, f"{job_id} ({job.status}): refunds {refunds}"
    assert service.tokens.balance(user).balance == sum(e.amount for e in ledger)


def cluster_fields(
    *, database_url: str, bootstrap: str, prefix: str, s3_endpoint: str, bucket: str, model: str, tmp: Path
) -> dict[str, Any]:
    return {
        "data_dir": tmp / "data",
        "database_url": database_url,
        "kafka_bootstrap_servers": bootstrap,
        "kafka_client_config": json.dumps({**TANSU_CLIENT_CONFIG, "group.id": prefix + "workers"}),
        "kafka_topic_prefix": prefix,
        "kafka_partitions": 4,
        "s3_endpoint": s3_endpoint,
        "s3_access_key": "test-key",
        "s3_secret_key": "test-secret",
        "s3_bucket": bucket,
        "model": model,
        "threads": 1,
        "welcome_tokens": WELCOME,
        "lease_seconds": 30,
        "batch_wait_seconds": 0.05,
        "embedded_worker": False,
    }
