"""The on-disk model store (adapters.models.store): what counts as installed, defaults, removal,
local adds (copy and link), the pull status other processes read, and checksums."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_image.adapters.models import (
    MODEL_NAME,
    DownloadStatus,
    InvalidModel,
    ModelExists,
    ModelNotInstalled,
    ModelStore,
    RepoFile,
    model_name,
)
from nexus_image.adapters.models.checksums import Expected, git_blob_sha1
from nexus_image.adapters.models.status import StatusRecorder, write_status


def pipeline_folder(where: Path, weights: bytes = b"\x01" * 1000) -> Path:
    """A folder with a diffusers layout (nothing loads it here)."""
    (where / "unet").mkdir(parents=True)
    (where / "model_index.json").write_text(json.dumps({"unet": ["diffusers", "UNet2DConditionModel"]}))
    (where / "unet" / "config.json").write_text("{}")
    (where / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(weights)
    (where / ".cache").mkdir()
    (where / ".cache" / "junk").write_text("left out")
    return where


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(tmp_path / "models")


def checkpoint(where: Path, content: bytes = b"weights") -> Path:
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_bytes(content)
    return where


def test_an_empty_store_lists_nothing_and_has_no_default(store: ModelStore) -> None:
    assert store.list() == []
    assert store.default() is None
    assert store.get("anything") is None
    assert store.download_status() is None


def test_a_copied_folder_is_installed_with_sizes_and_checksums(store: ModelStore, tmp_path: Path) -> None:
    source = pipeline_folder(tmp_path / "My Model")
    model = store.add(source)
    assert model.name == "my-model"
    assert (model.kind, model.source, model.linked) == ("folder", f"folder:{source}", False)
    assert model.path == store.root / "installed" / "my-model"
    assert (model.path / "unet" / "diffusion_pytorch_model.safetensors").read_bytes() == b"\x01" * 1000
    assert not (model.path / ".cache").exists()
    manifest = json.loads((model.path / "nexus-model.json").read_text())
    files = {f["path"]: (f["size"], f["sha256"]) for f in manifest["files"]}
    assert files["unet/diffusion_pytorch_model.safetensors"] == (
        1000,
        hashlib.sha256(b"\x01" * 1000).hexdigest(),
    )
    assert model.size == sum(size for size, _ in files.values())
    assert store.list() == [model]
    assert store.default() == "my-model"  # the first model installed


def test_a_linked_checkpoint_stays_where_it_is(store: ModelStore, tmp_path: Path) -> None:
    source = checkpoint(tmp_path / "elsewhere" / "Dreamy.safetensors", b"x" * 321)
    model = store.add(source, name="dreamy", link=True)
    assert (model.kind, model.linked, model.size, model.path) == ("single_file", True, 321, source)
    assert (store.root / "installed" / "dreamy" / "Dreamy.safetensors").is_symlink()
    store.remove("dreamy")
    assert source.read_bytes() == b"x" * 321
    assert store.list() == []


def test_a_linked_folder_points_outside_the_store(store: ModelStore, tmp_path: Path) -> None:
    source = pipeline_folder(tmp_path / "pipe")
    model = store.add(source, link=True)
    assert model.path == source and model.linked
    assert (model.path / "model_index.json").exists()


def test_a_copied_ckpt_is_a_single_file_model(store: ModelStore, tmp_path: Path) -> None:
    model = store.add(checkpoint(tmp_path / "old.ckpt"))
    assert (model.name, model.kind) == ("old", "single_file")
    assert model.path == store.root / "installed" / "old" / "old.ckpt"
    assert model.path.read_bytes() == b"weights"


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda p: p / "missing.safetensors", "no such file"),
        (lambda p: checkpoint(p / "notes.txt"), "neither a diffusers folder"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "no model_index.json"),
    ],
)
def test_what_is_not_a_model_is_refused(
    store: ModelStore, tmp_path: Path, make: Callable[[Path], Path], said: str
) -> None:
    with pytest.raises(InvalidModel, match=said):
        store.add(make(tmp_path))
    assert store.list() == []
    assert not (store.root / "installed").exists() or not any((store.root / "installed").iterdir())


def test_names_are_checked_and_not_taken_twice(store: ModelStore, tmp_path: Path) -> None:
    with pytest.raises(InvalidModel, match="bad model name"):
        store.add(checkpoint(tmp_path / "a.safetensors"), name="Bad Name")
    first = store.add(checkpoint(tmp_path / "a.safetensors", b"one"), name="m")
    with pytest.raises(ModelExists):
        store.add(checkpoint(tmp_path / "b.safetensors", b"two"), name="m")
    assert store.get("m") == first
    replaced = store.add(checkpoint(tmp_path / "b.safetensors", b"two"), name="m", replace=True)
    assert replaced.path.read_bytes() == b"two" and store.list() == [replaced]
    assert not any((store.root / ".staging").iterdir())  # nothing left over


def test_default_set_removed_and_fallen_back(store: ModelStore, tmp_path: Path) -> None:
    store.add(checkpoint(tmp_path / "b.safetensors"))
    store.add(checkpoint(tmp_path / "a.safetensors"))
    assert store.default() == "b"  # the first installed, set then
    with pytest.raises(ModelNotInstalled):
        store.set_default("zzz")
    store.set_default("a")
    assert store.default() == "a"
    removed = store.remove("a")
    assert removed.name == "a"
    assert store.default() == "b"
    assert not store.default_file.exists()
    with pytest.raises(ModelNotInstalled, match="no model named 'a'"):
        store.remove("a")


def test_half_installs_and_other_folders_are_not_models(store: ModelStore, tmp_path: Path) -> None:
    installed = store.root / "installed"
    (installed / "half").mkdir(parents=True)  # no manifest: the install never finished
    (installed / "half" / "model_index.json").write_text("{}")
    (installed / "broken").mkdir()
    (installed / "broken" / "nexus-model.json").write_text("{not json")
    (installed / "renamed").mkdir()  # a manifest of another name
    model = store.add(checkpoint(tmp_path / "real.safetensors"))
    (installed / "renamed" / "nexus-model.json").write_text(
        (model.path.parent / "nexus-model.json").read_text()
    )
    (store.root / ".staging" / "being-assembled").mkdir(parents=True)
    (store.root / "tiny-sd15-random-v1").mkdir()
    (store.root / "torch-compile").mkdir()
    assert [m.name for m in store.list()] == ["real"]
    assert store.get("half") is None and store.get("../installed/real") is None
    assert (store.root / "tiny-sd15-random-v1").is_dir() and (store.root / "torch-compile").is_dir()
    # installing over a half install takes its place
    assert store.add(checkpoint(tmp_path / "half.safetensors")).name == "half"


def test_staging_left_by_a_dead_process_is_swept(store: ModelStore) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = store.staging_dir / f"x-{gone.stdout.strip()}-0123abcd"
    alive = store.staging_dir / f"y-{os.getppid()}-0123abcd"
    dead.mkdir(parents=True)
    alive.mkdir()
    fresh = store.new_staging("z")
    assert fresh.is_dir() and not dead.exists() and alive.exists()


@given(st.text(max_size=100))
def test_default_names_are_always_valid(text: str) -> None:
    assert MODEL_NAME.fullmatch(model_name(text))


def test_default_names_read_like_the_source() -> None:
    assert model_name("Stable-Diffusion-v1-5") == "stable-diffusion-v1-5"
    assert model_name("My Model (final)") == "my-model-final"
    assert model_name("___") == "model"


# --- the pull status -----------------------------------------------------------------------------


def status(state: str, pid: int) -> DownloadStatus:
    now = datetime.now(UTC)
    return DownloadStatus("m", "hub:org/m", state, 5, 10, 2.5, None, now, now, pid)


def test_the_status_round_trips_through_its_file(store: ModelStore) -> None:
    written = status("downloading", os.getpid())
    write_status(store.status_file, written)
    assert store.download_status() == written
    assert DownloadStatus.from_json(json.loads(store.status_file.read_text())) == written


def test_an_unfinished_pull_whose_process_is_gone_reads_failed(store: ModelStore) -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(child.stdout)
    write_status(store.status_file, status("downloading", pid))
    read = store.download_status()
    assert read is not None and read.state == "failed" and "interrupted" in (read.error or "")
    finished = status("installed", pid)
    write_status(store.status_file, finished)
    assert store.download_status() == finished  # a finished one stays as it was


def test_the_recorder_writes_states_and_at_most_four_times_a_second(store: ModelStore) -> None:
    now = [100.0]
    recorder = StatusRecorder(store.status_file, "m", "hub:org/m", clock=lambda: now[0])
    assert store.download_status().state == "checking"  # type: ignore[union-attr]
    recorder.started(total_bytes=1000, files=2)
    for _ in range(10):
        recorder.advanced(10)  # the clock stands still: no writes
    assert store.download_status().bytes_done == 0  # type: ignore[union-attr]
    now[0] += 0.5
    recorder.advanced(10)
    read = store.download_status()
    assert read is not None and (read.state, read.bytes_done, read.bytes_per_second) == (
        "downloading",
        110,
        220.0,
    )
    recorder.file_done("a")
    recorder.file_done("b")
    assert store.download_status().state == "verifying"  # type: ignore[union-attr]
    recorder.finished()
    assert store.download_status().state == "installed"  # type: ignore[union-attr]


# --- checksums -----------------------------------------------------------------------------------


def test_git_blob_ids_are_gits() -> None:
    assert git_blob_sha1(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert git_blob_sha1(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


@pytest.mark.parametrize(
    ("listed", "kind"),
    [
        (RepoFile("a.json", 11, blob_id=git_blob_sha1(b"hello world")), "git-sha1"),
        (RepoFile("a.bin", 11, sha256=hashlib.sha256(b"hello world").hexdigest()), "sha256"),
    ],
)
def test_expected_checksums_fed_in_pieces_and_from_a_partial_file(
    tmp_path: Path, listed: RepoFile, kind: str
) -> None:
    partial = tmp_path / "part"
    partial.write_bytes(b"hello")
    expected = Expected(listed)
    expected.feed_file(partial, 5)
    expected.update(b" world")
    assert expected.kind == kind and expected.matches()
    wrong = Expected(listed)
    wrong.update(b"hello World")
    assert not wrong.matches()
