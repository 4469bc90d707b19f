"""What the benchmarks that run `nexus-image serve` in a child process share."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx


def wait_ready(client: httpx.Client, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Until GET /ready answers 200; exits with the server's log if it dies or takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if client.get("/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"serve did not start: {log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
