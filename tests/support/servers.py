"""Starting throwaway servers for tests: free ports, readiness by probing, logs to a file.

A server that cannot start fails the test that needs it: integration tests never skip."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


class ServerProcess:
    """One server subprocess on a fixed port; `start` and `stop` may be called again (the
    broker-outage tests stop a server and start it on the same port)."""

    def __init__(self, name: str, port: int, log_dir: Path, ready: Callable[[int], bool]) -> None:
        self.name = name
        self.port = port
        self.log_path = log_dir / f"{name}-{port}.log"
        self._ready = ready
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> Sequence[str]:
        raise NotImplementedError

    def start(self, timeout: float = 15.0) -> None:
        if self._process is not None:
            return
        with self.log_path.open("ab") as log:
            try:
                self._process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
            except OSError as error:
                pytest.fail(f"cannot start {self.name}: {error}")
        deadline = time.monotonic() + timeout
        while not self._ready(self.port):
            if self._process.poll() is not None:
                self._process = None
                pytest.fail(
                    f"{self.name} exited at start; see {self.log_path}:\n{self.log_path.read_text()[-2000:]}"
                )
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"{self.name} did not answer on port {self.port} within {timeout}s")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.kill()
        self._process.wait(10)
        self._process = None
        deadline = time.monotonic() + 5
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.02)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None
