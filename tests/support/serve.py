"""`nexus-image serve` as a process, as the README runs it: its environment, a token minted by
the CLI, and the server itself, healthy once `/health` answers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.servers import free_port

CLI = [str(Path(sys.executable).parent / "nexus-image")]  # the installed console script


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def serve_env(data_dir: Path, model: Path, **settings: str) -> dict[str, str]:
    """The embedded server on the tiny pipeline, offline; `settings` are more NEXUS_IMAGE_ ones."""
    return {
        **os.environ,
        "NEXUS_IMAGE_DATA_DIR": str(data_dir),
        "NEXUS_IMAGE_MODEL": str(model),
        "NEXUS_IMAGE_THREADS": "2",
        "NEXUS_IMAGE_LOG_JSON": "true",
        "HF_HUB_OFFLINE": "1",
        **{f"NEXUS_IMAGE_{name.upper()}": value for name, value in settings.items()},
    }


def mint_token(env: dict[str, str], user: str = "alice") -> str:
    """A development token from `nexus-image token`, for the server of `env`."""
    minted = subprocess.run(
        [*CLI, "token", "--user", user], env=env, capture_output=True, text=True, timeout=60
    )
    assert minted.returncode == 0, minted.stderr
    return minted.stdout.strip()


class Server:
    def __init__(self, env: dict[str, str], log: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [*CLI, "serve", "--port", str(self.port)], env=env, stdout=out, stderr=out
            )
        wait_for(self.healthy, 60, f"the server to answer (log: {log.read_text()[-2000:]})")

    def healthy(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()[-3000:]
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        """SIGTERM: a graceful shutdown (uvicorn then re-raises the signal, hence -15)."""
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(60) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in self.log.read_text()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(60)
