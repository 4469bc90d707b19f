"""`nexus-image serve --workers N`: N server processes share the port (the API alone, on
PostgreSQL, as behind a load balancer); the embedded worker, which holds the model and the
in-process queue, refuses more than one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest

from tests.support.servers import free_port

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "nexus-image")
SECRET = "serve-workers-secret-that-is-long-enough-0123456789"


def children(pid: int) -> list[int]:
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


def test_several_server_processes_share_the_port_and_the_database(postgres_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "NEXUS_IMAGE_DATABASE_URL": postgres_url,
        "NEXUS_IMAGE_EMBEDDED_WORKER": "false",
        "NEXUS_IMAGE_DATA_DIR": str(tmp_path),
        "NEXUS_IMAGE_JWT_SECRET": SECRET,
        "NEXUS_IMAGE_WELCOME_TOKENS": "1000",
        "NEXUS_IMAGE_RATE_LIMIT_PER_MINUTE": "1000",
        "NEXUS_IMAGE_IMAGE_SAFETY": "none",
        "HF_HUB_OFFLINE": "1",
    }
    log = tmp_path / "serve.log"
    with log.open("ab") as out:
        server = subprocess.Popen(
            [CLI, "serve", "--port", str(port), "--workers", "2"], env=env, stdout=out, stderr=out
        )
    user = f"workers-{port}"
    token = jwt.encode({"sub": user, "exp": int(time.time()) + 600}, SECRET, algorithm="HS256")
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=20
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            try:
                if client.get("/ready").status_code == 200 and len(children(server.pid)) >= 2:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        assert "in 2 processes" in log.read_text()
        created = []
        for n in range(12):  # new connections: the kernel spreads them over both processes
            with httpx.Client(base_url=client.base_url, headers=client.headers, timeout=20) as fresh:
                response = fresh.post("/api/v1/images/generate", json={"prompt": f"a heron {n}", "steps": 2})
            assert response.status_code == 201, response.text
            created.append(response.json()["id"])
        listed = client.get("/api/v1/images/user/me", params={"size": 100}).json()
        assert listed["total"] == 12 and {i["id"] for i in listed["items"]} == set(created)
        assert client.get("/api/v1/tokens/balance").json()["balance"] == 1000 - 12 * 5
        workers = children(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(60)
        client.close()
    assert code in (0, -signal.SIGTERM), log.read_text()[-3000:]

    def gone(pid: int) -> bool:
        status = Path(f"/proc/{pid}/status")
        try:
            return "zombie" in status.read_text().lower()
        except FileNotFoundError:
            return True

    deadline = time.monotonic() + 10  # a loaded machine may take a moment to end a process
    while not all(gone(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(gone(pid) for pid in workers), [pid for pid in workers if not gone(pid)]


def test_the_embedded_worker_runs_in_one_process_only(tmp_path: Path) -> None:
    env = {**os.environ, "NEXUS_IMAGE_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [CLI, "serve", "--port", str(free_port()), "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "NEXUS_IMAGE_EMBEDDED_WORKER=false" in result.stderr
