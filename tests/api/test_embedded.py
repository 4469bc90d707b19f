"""The embedded server's lifecycle: jobs a previous run left QUEUED (or cut short while
PROCESSING) are picked up when the server starts again; and the `token` command."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
import structlog
import uvicorn
from litestar import Litestar
from litestar.testing import TestClient
from pydantic import SecretStr

from nexus_image.entrypoints.cli import main
from nexus_image.entrypoints.http.security import DEV_SECRET_FILE
from nexus_image.entrypoints.settings import Settings
from nexus_image.testing import PatternGenerator

from .conftest import SECRET, Api, app_for, bearer


def test_a_restart_picks_up_jobs_the_previous_run_left_behind(api: Api, tmp_path: Path) -> None:
    waiting = [api.generate(seed=i)["id"] for i in range(2)]
    interrupted = api.generate(seed=9)["id"]
    api.worker.relay.drain()  # the old in-process queue held them, and died with the process
    with api.db.store.unit_of_work() as uow:  # it started this one and never finished
        job = uow.jobs.get(interrupted)
        assert job is not None
        job.start(datetime.now(UTC), worker_id="crashed-worker")
        uow.jobs.save(job)
        uow.commit()
    settings = Settings(data_dir=tmp_path / "next", jwt_secret=SecretStr(SECRET), embedded_worker=True)
    # same database, fresh queue
    with TestClient(app_for(settings, api.db, generator=PatternGenerator())) as client:
        deadline = time.monotonic() + 10
        for job_id in [*waiting, interrupted]:
            while (
                status := client.get(f"/api/v1/images/{job_id}", headers=bearer()).json()["status"]
            ) != "COMPLETED":
                assert status in ("QUEUED", "PROCESSING") and time.monotonic() < deadline
                time.sleep(0.02)
        assert client.get("/api/v1/tokens/balance", headers=bearer()).json()["balance"] == 85


def test_token_prints_a_token_the_embedded_server_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEXUS_IMAGE_DATA_DIR", str(tmp_path))
    assert main(["token", "--user", "alice", "--ttl", "120"]) == 0
    printed = capsys.readouterr().out.strip()
    claims = jwt.decode(printed, (tmp_path / DEV_SECRET_FILE).read_text(), algorithms=["HS256"])
    assert claims["sub"] == "alice" and 100 <= claims["exp"] - time.time() <= 120
    with TestClient(app_for(Settings(data_dir=tmp_path, embedded_worker=False))) as client:
        response = client.get("/api/v1/tokens/balance", headers={"Authorization": f"Bearer {printed}"})
        assert response.json() == {"user_id": "alice", "balance": 100}


def test_token_refuses_production_unless_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEXUS_IMAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NEXUS_IMAGE_DATABASE_URL", "postgresql+psycopg://db/nexus")
    assert main(["token", "--user", "alice"]) == 2
    assert "embedded mode" in capsys.readouterr().err
    assert main(["token", "--user", "alice", "--allow-production"]) == 2  # and no secret to sign with
    assert "must be configured" in capsys.readouterr().err
    monkeypatch.setenv("NEXUS_IMAGE_JWT_SECRET", SECRET)
    assert main(["token", "--user", "alice", "--allow-production"]) == 0
    assert jwt.decode(capsys.readouterr().out.strip(), SECRET, algorithms=["HS256"])["sub"] == "alice"
    assert not (tmp_path / DEV_SECRET_FILE).exists()


@pytest.mark.parametrize("args", [["--user", " "], ["--user", "a", "--ttl", "0"]])
def test_token_checks_its_arguments(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEXUS_IMAGE_DATA_DIR", str(tmp_path))
    assert main(["token", *args]) == 2
    assert capsys.readouterr().err.startswith("error: ")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield
    root.handlers, _ = saved
    root.setLevel(saved[1])
    structlog.reset_defaults()


def test_serve_runs_the_app_on_the_asked_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append((app, options)))
    monkeypatch.setenv("NEXUS_IMAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NEXUS_IMAGE_EMBEDDED_WORKER", "false")
    assert main(["serve", "--host", "0.0.0.0", "--port", "9123"]) == 0  # one process by default
    app, options = calls[0]
    assert isinstance(app, Litestar) and (options["host"], options["port"]) == ("0.0.0.0", 9123)
    assert options["log_config"] is None and options["access_log"] is False
    assert "workers" not in options
    # More processes when asked: uvicorn's supervisor over one shared socket.
    from nexus_image.entrypoints.cli import serve

    monkeypatch.setattr(
        serve, "serve_processes", lambda processes, options: calls.append((processes, options))
    )
    assert main(["serve", "--host", "0.0.0.0", "--port", "9123", "--workers", "4"]) == 0
    processes, options = calls[1]
    assert processes == 4 and (options["host"], options["port"]) == ("0.0.0.0", 9123)


def test_serve_refuses_production_without_a_jwt_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not serve"))
    monkeypatch.setenv("NEXUS_IMAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NEXUS_IMAGE_DATABASE_URL", "postgresql+psycopg://db.invalid/nexus")
    with socket.socket() as probe:  # a port known to be free, whatever else runs on this machine
        probe.bind(("127.0.0.1", 0))
        free = str(probe.getsockname()[1])
    assert main(["serve", "--port", free]) == 2
    assert (
        "NEXUS_IMAGE_JWT_SECRET or NEXUS_IMAGE_JWT_PUBLIC_KEY must be configured" in capsys.readouterr().err
    )
    assert main(["serve", "--port", "0"]) == 2  # settings validation: one line, exit 2
