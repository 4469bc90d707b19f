"""The orphan sweep on every storage (memory, local files, S3 through moto) and both kinds of
database: objects no row names are removed once older than the grace period, in pages; what
a job or an upload names stays; a dry run and a young orphan change nothing."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from benchmarks.soak import Later
from sqlalchemy.engine import Engine

from nexus_image.adapters.filesystem import FileStorage
from nexus_image.adapters.memory.storage import InMemoryStorage
from nexus_image.adapters.minio import S3ObjectStorage
from nexus_image.adapters.sqlalchemy import SqlDatabase
from nexus_image.application.orphans import SweepOrphans
from nexus_image.application.storage_keys import image_key, thumbnail_key, upload_key
from nexus_image.domain.upload import Upload
from nexus_image.entrypoints.cli.main import main
from nexus_image.testing import MemoryStore
from tests.support.driver import Fakes, ServiceDriver
from tests.support.moto import MotoServer

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "files", "s3"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """(storage, unit of work factory): memory with the memory store, files with SQLite, S3
    with PostgreSQL."""
    if request.param == "memory":
        yield InMemoryStorage(), MemoryStore().unit_of_work
    elif request.param == "files":
        from nexus_image.adapters.sqlalchemy import create_engine_for, migrate, sqlite_url

        sqlite = create_engine_for(sqlite_url(tmp_path / "db.sqlite"))
        migrate(sqlite)
        yield FileStorage(tmp_path / "files"), SqlDatabase(sqlite).unit_of_work
        sqlite.dispose()
    else:
        server: MotoServer = request.getfixturevalue("s3_server")
        postgres: Engine = request.getfixturevalue("clean_postgres")
        bucket = f"test-{uuid.uuid4().hex[:16]}"
        yield (
            S3ObjectStorage(server.endpoint, "test-key", "test-secret", bucket),
            SqlDatabase(postgres).unit_of_work,
        )


def test_objects_no_row_names_go_once_old_enough_and_the_rest_stays(world: tuple[Any, Any]) -> None:
    storage, uow_factory = world
    fakes = Fakes(storage=storage)
    driver = ServiceDriver()
    driver.service = fakes.service(uow_factory, storage_retry_delays=(0.0,))
    driver.queue = fakes.queue
    jobs = [driver.request("alice", seed=s).id for s in (1, 2)]
    assert driver.run_queue() == ["COMPLETED", "COMPLETED"]
    upload = Upload("up-1", "alice", 8, 8, 10, "png", datetime.now(UTC))
    with uow_factory() as uow:
        uow.uploads.add(upload)
        uow.commit()
    storage.put(upload_key("alice", "up-1"), b"\x89PNG", "image/png", {})
    with uow_factory() as uow:
        named = {k for j in uow.jobs.list_by_ids(jobs) for k in (j.image_key, j.thumbnail_key)}
    assert named == {image_key("alice", j) for j in jobs} | {thumbnail_key("alice", j, "webp") for j in jobs}
    orphans = {
        image_key("alice", "crashed-before-its-row"),
        thumbnail_key("alice", "crashed-before-its-row", "webp"),
        upload_key("bob", "never-recorded"),
        image_key("bob", jobs[0]),  # a job's id, in another user's folder: not its key
    }
    for key in orphans:
        storage.put(key, b"stray", "image/png", {})

    clock = Later()
    sweep = SweepOrphans(uow_factory, storage, clock, grace=timedelta(hours=1), batch_size=2)
    young = sweep.execute()
    assert (young.seen, young.removed, young.young) == (9, 0, 4)
    clock.ahead = timedelta(hours=2)
    dry = sweep.execute(dry_run=True)
    assert (dry.removed, set(dry.sample)) == (4, orphans)
    assert all(storage.keys(key, 1) == [key] for key in orphans)  # a dry run removes nothing
    done = sweep.execute()
    assert (done.seen, done.removed, done.young) == (9, 4, 0)
    left = {k for folder in ("images/", "thumbnails/", "uploads/") for k in storage.keys(folder, 100)}
    assert left == named | {upload_key("alice", "up-1")}
    assert sweep.execute().removed == 0  # a second run finds nothing


def test_the_maintenance_command_sweeps_and_audits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEXUS_IMAGE_DATA_DIR", str(tmp_path))
    stray = tmp_path / "files" / image_key("alice", "crashed")
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"\x89PNG")
    hour_ago = (datetime.now(UTC) - timedelta(minutes=61)).timestamp()
    os.utime(stray, (hour_ago, hour_ago))
    assert main(["maintenance", "orphans", "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("orphans (dry run): would remove 1 of 1 objects")
    assert stray.exists()
    assert main(["maintenance", "orphans", "--grace-minutes", "90"]) == 0
    assert "removed 0 of 1 objects" in capsys.readouterr().out and stray.exists()  # younger than 90 min
    assert main(["maintenance", "orphans"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("orphans: removed 1 of 1 objects") and not stray.exists()
    with sqlite3.connect(tmp_path / "nexus-image.db") as db:
        assert db.execute("SELECT action, detail FROM audit_log").fetchall()[-1] == ("orphans.sweep", line)
    assert main(["maintenance", "orphans", "--grace-minutes", "0"]) == 2  # must be positive
