"""Integration tests use real components: the diffusers pipeline, and real servers where needed."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.serve import Server

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_folder(model_cache: Path) -> Path:
    from nexus_image.adapters.diffusers.tiny import ensure_tiny_pipeline

    return ensure_tiny_pipeline(model_cache)


@pytest.fixture
def server_factory(env: dict[str, str], tmp_path: Path) -> Iterator[Callable[[], Server]]:
    """Starts `nexus-image serve` with the test module's `env` fixture, as often as asked (one
    log); whatever still runs at the end is killed."""
    started: list[Server] = []

    def start() -> Server:
        started.append(Server(env, tmp_path / "serve.log"))
        return started[-1]

    yield start
    for server in started:
        if server.process.poll() is None:
            server.kill()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI's embedded defaults under the test's folder, whatever the environment sets."""
    monkeypatch.setenv("NEXUS_IMAGE_DATA_DIR", str(tmp_path))
    for name in ("NEXUS_IMAGE_DATABASE_URL", "NEXUS_IMAGE_S3_ENDPOINT", "NEXUS_IMAGE_WELCOME_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI on SQLite under `data_dir`, then on a clean PostgreSQL database."""
    if request.param == "postgres":
        request.getfixturevalue("clean_postgres")
        monkeypatch.setenv("NEXUS_IMAGE_DATABASE_URL", request.getfixturevalue("postgres_url"))
    return str(request.param)
