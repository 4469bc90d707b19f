"""pytest plugin: a moto S3 server (PyPI `moto[server]`) for the session, one bucket per test.

`private_s3` gives a test its own server to stop (storage outage tests)."""

from __future__ import annotations

import sys
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.support.servers import ServerProcess, free_port


def moto_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=0.5) as response:
            status: int = response.status
            return status == 200
    except OSError:
        return False


class MotoServer(ServerProcess):
    def __init__(self, log_dir: Path, port: int | None = None) -> None:
        super().__init__("moto", port or free_port(), log_dir, moto_ready)

    def command(self) -> Sequence[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        pytest.fail("moto[server] is not installed: run scripts/install.sh")
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    server.start(timeout=30)
    yield server
    server.stop()


@pytest.fixture
def s3_bucket() -> str:
    """A bucket name no other test uses (created by the adapter on first write)."""
    return f"test-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def private_s3(tmp_path: Path) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path)
    server.start(timeout=30)
    yield server
    server.stop()
