"""`nexus-image db upgrade`, `maintenance cleanup` and `tokens`, run in-process."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from nexus_image.adapters.filesystem import FileStorage
from nexus_image.adapters.sqlalchemy import create_engine_for, database_url, head_revision
from nexus_image.application import GenerateImage
from nexus_image.application.storage_keys import image_key, thumbnail_key
from nexus_image.domain import ImageJob, JobStatus
from nexus_image.entrypoints.cli import main
from nexus_image.entrypoints.composition import compose
from nexus_image.entrypoints.settings import Settings
from tests.support.builders import make_job

pytestmark = pytest.mark.integration


def one_line(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).strip().splitlines()
    assert len(lines) == 1, lines
    return captured.out.strip(), captured.err.strip()


def test_db_upgrade_creates_the_embedded_database(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    out, _ = one_line(capsys)
    assert out == f"database sqlite:///{data_dir}/nexus-image.db is at revision {head_revision()}"
    assert main(["db", "upgrade", "--revision", "no-such-revision"]) == 2
    assert one_line(capsys)[1].startswith("error: ")


def test_db_upgrade_on_postgres_and_when_unreachable(
    data_dir: Path,
    empty_postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(
        "NEXUS_IMAGE_DATABASE_URL", empty_postgres_url.replace("postgres@", "postgres:secret@")
    )
    assert main(["db", "upgrade"]) == 0
    out, _ = one_line(capsys)
    assert out.endswith(f"is at revision {head_revision()}") and "secret" not in out
    monkeypatch.setenv("NEXUS_IMAGE_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nothing")
    assert main(["db", "upgrade"]) == 1
    assert "database unavailable" in one_line(capsys)[1]


def test_tokens_grant_and_balance(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tokens", "grant", "bob", "50"]) == 0
    assert one_line(capsys)[0] == "granted 50 tokens to bob: balance 150"  # after the welcome 100
    assert main(["tokens", "grant", "bob", "7", "--reason", "support ticket 12"]) == 0
    assert main(["tokens", "balance", "bob"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "bob: 157 tokens"
    engine = create_engine_for(database_url(None, data_dir))
    with engine.connect() as connection:
        audit = connection.execute(sa.text("SELECT action, target, detail FROM audit_log ORDER BY id")).all()
    engine.dispose()
    assert audit == [
        ("tokens.grant", "account:bob", "50 tokens: operator grant"),
        ("tokens.grant", "account:bob", "7 tokens: support ticket 12"),
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["tokens", "grant", "bob", "0"],
        ["tokens", "grant", "bob", "-3"],
        ["tokens", "grant", "bob", "lots"],
        ["tokens", "grant", " ", "5"],
        ["maintenance", "cleanup", "--hours", "0"],
    ],
)
def test_bad_input_exits_2_with_one_line(
    data_dir: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    assert one_line(capsys)[1].startswith("error: ")


def build_uow_factory(settings: Settings, closers: list[Any]) -> Any:
    """The database the admin commands use: the `cli` role's."""
    app = compose("cli", settings)
    closers.append(app.close)
    return app.container.uow_factory()


def seed_failures(settings: Settings, storage: FileStorage) -> dict[str, ImageJob]:
    now = datetime.now(UTC)
    closers: list[Any] = []
    uow_factory = build_uow_factory(settings, closers)
    jobs = {
        "old": make_job("old-failure", status=JobStatus.FAILED, created_at=now - timedelta(days=2)),
        "young": make_job("young-failure", status=JobStatus.FAILED, created_at=now - timedelta(hours=3)),
        "done": make_job("old-success", status=JobStatus.COMPLETED, created_at=now - timedelta(days=2)),
    }
    with uow_factory() as uow:
        for job in jobs.values():
            job.completed_at = job.created_at
            job.image_key, job.thumbnail_key = (
                image_key(job.user_id, job.id),
                thumbnail_key(job.user_id, job.id, "webp"),
            )
            storage.put(job.image_key, b"png bytes", "image/png", {})
            storage.put(job.thumbnail_key, b"webp bytes", "image/webp", {})
            uow.jobs.add(job)
        uow.favorites.add("bob", "old-failure", now)
        uow.commit()
    for close in closers:
        close()
    return jobs


def test_maintenance_cleanup_removes_rows_and_files(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings()
    storage = FileStorage(settings.files_dir)
    jobs = seed_failures(settings, storage)
    assert main(["maintenance", "cleanup"]) == 0
    assert one_line(capsys)[0] == "removed 1 FAILED images older than 24 h (rows and stored files)"
    old = jobs["old"]
    assert old.image_key is not None and old.thumbnail_key is not None
    assert not storage.path(old.image_key).exists() and not storage.path(old.thumbnail_key).exists()
    for kept in (jobs["young"], jobs["done"]):
        assert kept.image_key is not None
        assert storage.get(kept.image_key) == b"png bytes"
    closers: list[Any] = []
    with build_uow_factory(settings, closers)() as uow:
        assert uow.jobs.get("old-failure") is None and uow.favorites.list_ids("bob", 0, 5).total == 0
        assert uow.jobs.get("young-failure") is not None and uow.jobs.get("old-success") is not None
    for close in closers:
        close()
    assert main(["maintenance", "cleanup", "--hours", "1"]) == 0
    assert one_line(capsys)[0].startswith("removed 1 FAILED images older than 1 h")


def test_queue_status_pause_resume_and_tier(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEXUS_IMAGE_TIERS", '{"free": {"weight": 1, "max_queued": 5}, "pro": {"weight": 3}}')
    app = compose("cli", Settings(welcome_tokens=100))
    try:
        app.request_generation.execute(GenerateImage("alice", "a heron", tier="pro"))
        app.request_generation.execute(GenerateImage("bob", "a heron"))
    finally:
        app.close()
    assert main(["queue", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    waiting = {t["name"]: (t["waiting_images"], t["waiting_users"]) for t in status["tiers"]}
    assert waiting == {"free": (1, 1), "pro": (1, 1)} and status["paused"] is False
    assert main(["queue", "pause"]) == 0
    assert "queue paused" in one_line(capsys)[0]
    assert main(["queue", "status"]) == 0
    assert capsys.readouterr().out.startswith("queue: PAUSED")
    assert main(["queue", "resume"]) == 0
    assert "queue resumed" in one_line(capsys)[0]
    assert main(["queue", "tier", "bob", "pro"]) == 0
    assert one_line(capsys)[0] == "bob: tier pro"
    assert main(["queue", "tier", "bob", "gold"]) == 2
    assert "unknown tier 'gold'; tiers: free, pro" in one_line(capsys)[1]
    assert main(["queue", "tier", "bob"]) == 2
    one_line(capsys)
    assert main(["queue", "tier", "bob", "--clear"]) == 0
    assert "tier cleared" in one_line(capsys)[0]
    app = compose("cli", Settings())
    try:
        with app.service.deps.uow_factory() as uow:
            account = uow.accounts.get("bob")
        assert account is not None and account.tier is None
    finally:
        app.close()
