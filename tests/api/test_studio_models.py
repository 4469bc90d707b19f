"""What the studio's model picker and download notice read, before anyone signs in: the models
offered (`/studio/models`, the same object as the configuration's `models`), which is the
default, and the download the store's status file describes, as it runs and when it fails."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from nexus_image.adapters.models.status import StatusRecorder
from nexus_image.domain.resolution import Resolution
from nexus_image.entrypoints.settings import Settings

from .conftest import app_for

RANDOM = "tiny-sd15-random"  # the stand-in offered while no model is installed


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def client(data_dir: Path) -> Iterator[TestClient[Any]]:
    with TestClient(app_for(Settings(data_dir=data_dir, embedded_worker=False))) as opened:
        yield opened


def test_with_nothing_installed_the_random_stand_in_alone_is_offered_and_is_the_default(
    client: TestClient[Any],
) -> None:
    models = client.get("/studio/models").json()
    assert models["default"] == RANDOM and models["download"] is None
    assert [(m["name"], m["default"], m["random"]) for m in models["models"]] == [(RANDOM, True, True)]
    assert models["resolutions"] == [r.value for r in Resolution]
    config = client.get("/studio/config").json()
    assert config["models"] == models
    assert config["model"]["configured"] is False and config["model"]["name"] == RANDOM
    assert "noise" in config["model"]["notice"]
    described = {f["name"]: f for f in config["fields"]}["model"]
    assert (described["kind"], described["default"], described["required"]) == ("model", None, False)
    assert client.get("/api/v1/models").status_code == 401  # the API's own list takes a token


def test_a_running_download_is_shown_as_the_status_file_says_then_its_failure(
    client: TestClient[Any], data_dir: Path
) -> None:
    ticks = itertools.count()
    status = data_dir / "models" / ".downloads" / "status.json"
    recorder = StatusRecorder(status, "sd15", "hub:org/sd15", clock=lambda: float(next(ticks)))
    assert client.get("/studio/models").json()["download"]["state"] == "checking"
    recorder.started(2_000, files=2)
    recorder.advanced(900)
    pulled = client.get("/studio/models").json()["download"]
    assert client.get("/studio/config").json()["models"]["download"] == pulled
    assert {k: pulled[k] for k in ("name", "source", "state", "bytes_done", "bytes_total", "error")} == {
        "name": "sd15", "source": "hub:org/sd15", "state": "downloading", "bytes_done": 900,
        "bytes_total": 2_000, "error": None,
    }  # fmt: skip
    assert pulled["bytes_per_second"] > 0
    recorder.failed("checksum mismatch")
    failed = client.get("/studio/models").json()
    assert (failed["download"]["state"], failed["download"]["error"]) == ("failed", "checksum mismatch")
    assert failed["default"] == RANDOM  # nothing was installed: still the stand-in
