"""`nexus-image worker`: options become settings; bad values are refused before anything starts."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from nexus_image.entrypoints.cli.main import main
from nexus_image.entrypoints.worker.process import WorkerProcess


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[WorkerProcess]:
    """Records the worker the command would run, instead of loading a model."""
    for name in ("NEXUS_IMAGE_MODEL", "NEXUS_IMAGE_KAFKA_BOOTSTRAP_SERVERS", "NEXUS_IMAGE_MAX_BATCH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEXUS_IMAGE_DATA_DIR", str(tmp_path))
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # the command configures logging
    monkeypatch.setattr(root, "level", root.level)
    runs: list[WorkerProcess] = []
    monkeypatch.setattr(WorkerProcess, "run", lambda self, install_signals=True: runs.append(self))
    return runs


def test_options_reach_the_worker(started: list[WorkerProcess], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--max-batch", "4", "--metrics-port", "0", "--worker-id", "gpu-7"]) == 0
    [worker] = started
    assert (worker.worker_id, worker.settings.max_batch, worker.settings.worker_metrics_port) == (
        "gpu-7",
        4,
        0,
    )
    err = capsys.readouterr().err
    assert "random weights" in err
    assert "no Kafka configured" in err


def test_defaults_name_the_worker_after_host_and_pid(
    started: list[WorkerProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXUS_IMAGE_MODEL", "/models/sd15")
    monkeypatch.setenv("NEXUS_IMAGE_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    assert main(["worker"]) == 0
    [worker] = started
    assert worker.worker_id.endswith(f"-{os.getpid()}")
    assert worker.settings.max_batch == 1


def test_a_bad_option_is_refused(started: list[WorkerProcess], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--max-batch", "0"]) == 2
    assert started == []
    assert "max_batch" in capsys.readouterr().err
