"""API tests: the Litestar app through its test client, on the embedded adapters (in-memory
database, files under a temporary data directory) with the fast pattern generator.

Jobs are run on demand (`api.run_jobs()`), by a worker service built from the app's own ports,
so every test decides exactly when generation happens."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
import structlog
from litestar.testing import TestClient
from pydantic import SecretStr

from nexus_image.application import ImageService
from nexus_image.entrypoints.composition import Application, Container, compose, http_app, http_role
from nexus_image.entrypoints.logs import configure_logging
from nexus_image.entrypoints.settings import Settings
from nexus_image.testing import MemoryStore, MemoryUnitOfWork, PatternGenerator

SECRET = "api-tests-secret-that-is-long-enough-0123456789"
API = "/api/v1"


class CountingStore:
    """The app's database: a MemoryStore whose units of work are counted (to prove that a
    request was refused before touching it)."""

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.opened = 0
        self.failure: Exception | None = None  # set to make the database fail like an outage

    def unit_of_work(self) -> MemoryUnitOfWork:
        if self.failure is not None:
            raise self.failure
        self.opened += 1
        return self.store.unit_of_work()


def token(user: str = "alice", secret: str = SECRET, algorithm: str = "HS256", **claims: Any) -> str:
    body: dict[str, Any] = {"sub": user, "exp": int(time.time()) + 600, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, secret, algorithm=algorithm)


def bearer(user: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user)}"}


def worker_beside(app: Application, generator: PatternGenerator, **overrides: Any) -> ImageService:
    """A worker on the API's own database, storage, queue and live events (the role `cli`:
    it generates, on demand), so a test decides exactly when jobs run."""
    c = app.container
    return compose(
        "cli",
        app.settings,
        uow_factory=c.uow_factory(),
        storage=c.storage(),
        in_process_queue=c.in_process_queue(),
        publisher=c.publisher(),
        live_events=c.live_feed(),
        metrics=c.metrics(),
        generator=generator,
        storage_retry_delays=(),
        **overrides,
    ).service


@dataclass
class Api:
    client: TestClient[Any]
    app: Application
    db: CountingStore
    generator: PatternGenerator
    settings: Settings
    worker: ImageService = field(init=False)

    def __post_init__(self) -> None:
        self.worker = worker_beside(self.app, self.generator)

    @property
    def container(self) -> Container:
        return self.app.container

    def request(self, method: str, path: str, user: str | None = "alice", **kwargs: Any) -> Any:
        headers = {**(bearer(user) if user else {}), **kwargs.pop("headers", {})}
        return self.client.request(method, API + path, headers=headers, **kwargs)

    def generate(self, user: str = "alice", **body: Any) -> dict[str, Any]:
        response = self.request(
            "POST", "/images/generate", user, json={"prompt": "a red fox", "steps": 3, **body}
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def run_jobs(self) -> list[str]:
        """Dispatch what is queued, relay the outbox to the in-process queue and process
        everything dispatched."""
        queue = self.container.job_queue()
        outcomes: list[str] = []
        while True:
            self.worker.dispatcher.execute(room=8)
            self.worker.relay.drain()
            deliveries = queue.receive(8, 0)
            if not deliveries:
                return outcomes
            for delivery in deliveries:
                outcomes.append(self.worker.process(delivery.job_id).status)
                queue.acknowledge(delivery)

    def completed(self, user: str = "alice", **body: Any) -> dict[str, Any]:
        created = self.generate(user, **body)
        self.run_jobs()
        image: dict[str, Any] = self.request("GET", f"/images/{created['id']}", user).json()
        assert image["status"] == "COMPLETED", image
        return image

    def audit(self) -> list[tuple[str, str, str, str]]:
        return [(a.actor, a.action, a.target, a.outcome) for a in self.db.store.audit]


def build_app(settings: Settings, db: CountingStore, **overrides: Any) -> Application:
    return compose(http_role(settings), settings, uow_factory=db.unit_of_work, **overrides)


def app_for(settings: Settings, db: CountingStore | None = None, **overrides: Any) -> Any:
    """The Litestar app of the settings' role; on `db` when given, else the settings' database."""
    if db is not None:
        overrides["uow_factory"] = db.unit_of_work
    return http_app(compose(http_role(settings), settings, **overrides))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", jwt_secret=SecretStr(SECRET), embedded_worker=False, welcome_tokens=100
    )


def open_api(settings: Settings) -> Iterator[Api]:
    db = CountingStore()
    app = build_app(settings, db)
    generator = PatternGenerator()
    with TestClient(http_app(app)) as client:
        yield Api(client, app, db, generator, settings)


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    yield from open_api(settings)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The JSON log lines written while the test runs."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    configure_logging(json_lines=True, stream=stream)
    yield stream
    root.handlers, _ = saved
    root.setLevel(saved[1])
    structlog.reset_defaults()
