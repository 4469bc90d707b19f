"""The contract suite: every test here runs against the in-memory, SQLite and PostgreSQL adapters.

`backend` gives a unit-of-work factory on an empty database; `stack` the real use cases on top
of it (ImageService with the fast pattern generator and a manual clock)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nexus_image.adapters.memory import InMemoryQueue
from nexus_image.adapters.sqlalchemy import SqlDatabase, create_engine_for, migrate, sqlite_url
from nexus_image.application import ImageService
from nexus_image.application.ports import UnitOfWorkFactory
from nexus_image.testing import (
    InMemoryStorage,
    ManualClock,
    MemoryStore,
    PatternGenerator,
)
from tests.support.driver import Fakes, ServiceDriver


@dataclass
class Backend:
    name: str
    uow_factory: UnitOfWorkFactory


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating each time would cost more)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = create_engine_for(sqlite_url(path))
    migrate(engine)
    engine.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def backend(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Backend]:
    if request.param == "memory":
        yield Backend("memory", MemoryStore().unit_of_work)
        return
    if request.param == "sqlite":
        path = tmp_path / "contract.db"
        shutil.copyfile(sqlite_template, path)
        engine = create_engine_for(sqlite_url(path))
    else:
        engine = request.getfixturevalue("clean_postgres")
    try:
        yield Backend(request.param, SqlDatabase(engine).unit_of_work)
    finally:
        if request.param == "sqlite":
            engine.dispose()


@dataclass
class Stack(ServiceDriver):
    backend: Backend
    clock: ManualClock
    storage: InMemoryStorage
    queue: InMemoryQueue
    generator: PatternGenerator
    service: ImageService

    default_steps = 2


@pytest.fixture
def stack(backend: Backend) -> Stack:
    fakes = Fakes()
    service = fakes.service(backend.uow_factory, storage_retry_delays=(0.0,))
    return Stack(backend, fakes.clock, fakes.storage, fakes.queue, fakes.generator, service)
