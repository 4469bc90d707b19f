"""`nexus-image maintenance retention` on PostgreSQL and a real S3 server (moto): exactly the
expired, unprotected images lose their objects (PNG and thumbnail) and keep their rows as
tombstones; a run killed with SIGKILL half-way through a batch is finished by the next run."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nexus_image.adapters.minio import S3ObjectStorage
from nexus_image.adapters.sqlalchemy import SqlDatabase
from nexus_image.application.storage_keys import image_key, thumbnail_key
from nexus_image.domain import Album, ImageJob
from nexus_image.entrypoints.cli import main
from tests.support.builders import make_job
from tests.support.moto import MotoServer

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "nexus-image")
TIERS = '{"free": {"retention_days": 7}, "forever": {}}'


@dataclass
class Scene:
    env: dict[str, str]
    database: SqlDatabase
    storage: S3ObjectStorage

    def objects(self) -> set[str]:
        listed = self.storage.client.list_objects(self.storage.bucket, recursive=True)
        return {str(o.object_name) for o in listed}

    def rows(self) -> dict[str, ImageJob]:
        with self.database.unit_of_work() as uow:
            return {job.id: job for job in uow.jobs.list_by_ids(list(self.ids))}

    ids: tuple[str, ...] = ()


@pytest.fixture
def scene(
    clean_postgres: Engine, postgres_url: str, s3_server: MotoServer, s3_bucket: str, tmp_path: Path
) -> Scene:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "NEXUS_IMAGE_DATA_DIR": str(tmp_path),
        "NEXUS_IMAGE_DATABASE_URL": postgres_url,
        "NEXUS_IMAGE_S3_ENDPOINT": s3_server.endpoint,
        "NEXUS_IMAGE_S3_ACCESS_KEY": "test-key",
        "NEXUS_IMAGE_S3_SECRET_KEY": "test-secret",
        "NEXUS_IMAGE_S3_BUCKET": s3_bucket,
        "NEXUS_IMAGE_TIERS": TIERS,
    }
    storage = S3ObjectStorage(s3_server.endpoint, "test-key", "test-secret", s3_bucket)
    return Scene(env, SqlDatabase(clean_postgres), storage)


def stored(scene: Scene, job_id: str, days_old: float, tier: str = "free", user: str = "alice") -> ImageJob:
    """A finished image `days_old` days old, its PNG and thumbnail in the bucket."""
    now = datetime.now(UTC)
    job = make_job(job_id, user, created_at=now - timedelta(days=days_old), tier=tier)
    png, thumb = image_key(user, job_id), thumbnail_key(user, job_id, "webp")
    job.start(job.created_at, "w")
    job.complete(job.created_at + timedelta(seconds=4), png, thumb, stored_bytes=300)
    scene.storage.put(png, b"\x89PNG" + bytes(200), "image/png", {})
    scene.storage.put(thumb, b"RIFF" + bytes(96), "image/webp", {})
    return job


def seed(scene: Scene, expired: int) -> tuple[list[str], list[str]]:
    """`expired` plain expired images, and kept ones of every kind; (expired ids, kept ids)."""
    gone = [stored(scene, f"old-{n:02d}", 9 - n / 100) for n in range(expired)]  # oldest first
    kept = [
        stored(scene, "fav", 9),
        stored(scene, "album", 9),
        stored(scene, "young", 6),
        stored(scene, "forever", 30, tier="forever", user="bob"),
    ]
    public = stored(scene, "public", 9)
    public.set_visibility(True)
    kept.append(public)
    with scene.database.unit_of_work() as uow:
        for job in gone + kept:
            uow.jobs.add(job)
        uow.favorites.add("alice", "fav", datetime.now(UTC))
        uow.albums.add(Album("al-1", "alice", "keep", datetime.now(UTC), image_ids=["album"]))
        uow.commit()
    scene.storage.put("uploads/alice/u1.png", b"an upload", "image/png", {})  # not retention's
    scene.ids = tuple(j.id for j in gone + kept)
    return [j.id for j in gone], [j.id for j in kept]


def files_of(job_id: str, user: str = "alice") -> set[str]:
    return {image_key(user, job_id), thumbnail_key(user, job_id, "webp")}


def assert_retention_done(scene: Scene, gone: list[str], kept: list[str]) -> None:
    expected = {"uploads/alice/u1.png"}
    for job_id in kept:
        expected |= files_of(job_id, "bob" if job_id == "forever" else "alice")
    assert scene.objects() == expected
    rows = scene.rows()
    for job_id in gone:
        row = rows[job_id]
        assert row.data_removed_at is not None and row.status.value == "COMPLETED"
        assert (row.image_key, row.thumbnail_key, row.stored_bytes) == (None, None, 0)
    assert all(rows[j].data_removed_at is None and rows[j].image_key for j in kept)
    with scene.database.unit_of_work() as uow:
        assert uow.jobs.removal_pending(10) == []
        assert {j.id for j in uow.jobs.list_by_user("alice", 0, 50).items} == set(kept) - {"forever"}


def test_retention_removes_exactly_the_expired_unprotected_images_and_their_objects(
    scene: Scene, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gone, kept = seed(scene, expired=3)
    for name, value in scene.env.items():
        monkeypatch.setenv(name, value)
    before = scene.objects()

    assert main(["maintenance", "retention", "--dry-run"]) == 0
    line = capsys.readouterr().out.strip()
    assert line == (
        "retention (dry run): the files of 3 images (900 bytes recorded; free 3) would be removed; "
        "e.g. old-00, old-01, old-02"
    )
    assert scene.objects() == before and all(r.data_removed_at is None for r in scene.rows().values())

    assert main(["maintenance", "retention", "--batch-size", "2"]) == 0
    line = capsys.readouterr().out.strip()
    assert (
        line
        == "retention: removed the files of 3 images (900 bytes recorded; free 3); e.g. old-00, old-01, old-02"
    )
    assert_retention_done(scene, gone, kept)
    with scene.database.unit_of_work() as uow:
        connection = uow.connection()
        audit = connection.execute(sa.text("SELECT action, target, detail FROM audit_log")).all()
    assert audit == [("retention.apply", "images", line)]

    assert main(["maintenance", "retention"]) == 0
    assert capsys.readouterr().out.strip() == "retention: removed the files of 0 images (0 bytes recorded)"


def test_a_run_killed_mid_batch_is_finished_by_the_next_one(scene: Scene) -> None:
    gone, kept = seed(scene, expired=8)
    # Batches of 3 images, 2 objects each: killed after the 8th deletion, in the second batch,
    # with its 3 rows marked, one image's objects deleted and two images' still there.
    command = [sys.executable, "-m", "tests.integration.retention_crash_child", "8"]
    child = subprocess.run(
        [*command, "maintenance", "retention", "--batch-size", "3"],
        cwd=ROOT,
        env=scene.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    rows = scene.rows()
    marked = [j for j in gone if rows[j].data_removed_at is not None]
    assert marked == gone[:6]
    assert [j for j in marked if rows[j].image_key is not None] == gone[3:6]  # objects not all deleted
    objects = scene.objects()
    assert all(files_of(j) <= objects for j in gone[6:]) and not files_of(gone[3]) & objects
    assert files_of(gone[4]) <= objects  # a marked image whose objects the crash left behind

    again = subprocess.run(
        [CLI, "maintenance", "retention", "--batch-size", "3"],
        env=scene.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == (
        "retention: removed the files of 2 images (600 bytes recorded; free 2); "
        "finished 3 left by a stopped run; e.g. old-06, old-07"
    )
    assert_retention_done(scene, gone, kept)
