"""Pulls from a hub (adapters.models.install with the hub client) against the local emulator:
what is fetched, resumes, checksums, disk space, tokens and the hub's errors. No pipeline loads
here (the weights are random bytes): test_models_cli.py pulls a real one through the CLI."""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexus_image.adapters.models import (
    ChecksumMismatch,
    HubClient,
    HubNotFound,
    HubUnavailable,
    ModelError,
    ModelExists,
    ModelStore,
    NotEnoughDisk,
    pull,
    select_files,
)
from tests.support.hub import HubEmulator, fake_pipeline

pytestmark = pytest.mark.integration

REPO = "org/Fake-SD"
UNET_FP16 = "unet/diffusion_pytorch_model.fp16.safetensors"


@pytest.fixture(scope="module")
def repo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fake_pipeline(tmp_path_factory.mktemp("repo") / "fake-sd", weight_size=64 * 1024)


@pytest.fixture
def hub(repo_folder: Path) -> Iterator[HubEmulator]:
    with HubEmulator({REPO: repo_folder}) as emulator:
        yield emulator


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(tmp_path / "models")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def partial_path(store: ModelStore, hub: HubEmulator, path: str) -> Path:
    return store.downloads_dir / REPO.replace("/", "--") / hub.commit(REPO) / f"{path}.incomplete"


def test_a_pull_installs_the_pipeline_files_only(
    hub: HubEmulator, store: ModelStore, repo_folder: Path
) -> None:
    model = pull(store, REPO, variant="fp16", hub=HubClient(hub.url))
    assert (model.name, model.kind, model.source) == ("fake-sd", "folder", f"hub:{REPO}")
    assert (model.revision, model.variant) == (hub.commit(REPO), "fp16")
    installed = sorted(p.relative_to(model.path).as_posix() for p in model.path.rglob("*") if p.is_file())
    assert installed == [
        "feature_extractor/preprocessor_config.json",
        "model_index.json",
        "nexus-model.json",
        "scheduler/scheduler_config.json",
        "text_encoder/config.json",
        "text_encoder/model.safetensors",
        "tokenizer/merges.txt",
        "tokenizer/tokenizer_config.json",
        "tokenizer/vocab.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
        "vae/config.json",
        "vae/diffusion_pytorch_model.safetensors",
    ]
    assert sha256(model.path / "unet/diffusion_pytorch_model.safetensors") == sha256(repo_folder / UNET_FP16)
    assert json.loads((model.path / "model_index.json").read_text())["safety_checker"] == [None, None]
    fetched = {r.path.rpartition(f"{hub.commit(REPO)}/")[2] for r in hub.file_requests() if r.method == "GET"}
    assert not any(
        path.endswith((".ckpt", ".bin", ".msgpack", ".md")) or "safety" in path for path in fetched
    )
    assert not (store.downloads_dir / "org--Fake-SD").exists()
    status = store.download_status()
    assert status is not None and (status.state, status.bytes_done) == ("installed", status.bytes_total)
    assert store.default() == "fake-sd"


def test_the_token_goes_to_the_hub_and_not_to_the_cdn(repo_folder: Path, store: ModelStore) -> None:
    with HubEmulator({REPO: repo_folder}, token="hf_secret") as hub:
        with pytest.raises(HubNotFound, match="token"):
            pull(store, REPO, hub=HubClient(hub.url, token=""))
        pull(store, REPO, hub=HubClient(hub.url, token="hf_secret"))
    to_cdn = [r for r in hub.requests if r.path.startswith("/cdn/")]
    to_hub = [r for r in hub.requests if not r.path.startswith("/cdn/") and r.authorization]
    assert to_cdn and all(r.authorization is None and r.host.startswith("localhost:") for r in to_cdn)
    assert to_hub and all(r.authorization == "Bearer hf_secret" for r in to_hub)


def test_a_partial_download_resumes_with_a_range_request(
    hub: HubEmulator, store: ModelStore, repo_folder: Path
) -> None:
    partial = partial_path(store, hub, UNET_FP16)
    partial.parent.mkdir(parents=True)
    content = (repo_folder / UNET_FP16).read_bytes()
    partial.write_bytes(content[:1000])
    model = pull(store, REPO, variant="fp16", hub=HubClient(hub.url))
    ranges = [r.range for r in hub.file_requests(UNET_FP16)]
    assert "bytes=1000-" in ranges
    assert (model.path / "unet/diffusion_pytorch_model.safetensors").read_bytes() == content


def test_a_server_that_will_not_resume_sends_the_file_again(
    hub: HubEmulator, store: ModelStore, repo_folder: Path
) -> None:
    hub.ignore_range = True
    partial = partial_path(store, hub, UNET_FP16)
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"\0" * 1000)  # wrong bytes: only a restart from zero can repair them
    model = pull(store, REPO, variant="fp16", hub=HubClient(hub.url))
    assert sha256(model.path / "unet/diffusion_pytorch_model.safetensors") == sha256(repo_folder / UNET_FP16)


def test_a_bad_partial_fails_the_checksum_and_the_next_pull_starts_over(
    hub: HubEmulator, store: ModelStore
) -> None:
    partial = partial_path(store, hub, UNET_FP16)
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"\0" * 1000)
    with pytest.raises(ChecksumMismatch, match=UNET_FP16):
        pull(store, REPO, variant="fp16", hub=HubClient(hub.url))
    assert not partial.exists()
    assert pull(store, REPO, variant="fp16", hub=HubClient(hub.url)).name == "fake-sd"


def test_a_corrupted_file_installs_nothing(hub: HubEmulator, store: ModelStore) -> None:
    hub.corrupted.add((REPO, "vae/diffusion_pytorch_model.safetensors"))
    with pytest.raises(ChecksumMismatch, match="vae/diffusion_pytorch_model.safetensors") as raised:
        pull(store, REPO, hub=HubClient(hub.url))
    assert "nothing was installed" in str(raised.value)
    assert store.list() == [] and not (store.installed_dir / "fake-sd").exists()
    assert not partial_path(store, hub, "vae/diffusion_pytorch_model.safetensors").exists()
    status = store.download_status()
    assert status is not None and status.state == "failed" and "checksum" in (status.error or "")


def test_a_small_file_is_checked_by_its_git_blob_id(hub: HubEmulator, store: ModelStore) -> None:
    hub.corrupted.add((REPO, "unet/config.json"))
    with pytest.raises(ChecksumMismatch, match="unet/config.json.*git-sha1"):
        pull(store, REPO, hub=HubClient(hub.url))


def test_a_model_larger_than_the_free_disk_is_refused_before_any_download(
    hub: HubEmulator, store: ModelStore
) -> None:
    hub.advertised[(REPO, "unet/diffusion_pytorch_model.safetensors")] = 10**18
    with pytest.raises(NotEnoughDisk, match="needs .* more, .* free"):
        pull(store, REPO, hub=HubClient(hub.url))
    assert hub.file_requests() == []


def test_the_disk_check_counts_only_what_is_left_to_download(
    hub: HubEmulator, store: ModelStore, repo_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need = sum(f.stat().st_size for f in repo_folder.rglob("*") if f.is_file() and "fp16" not in f.name)
    already = 5000
    partial = partial_path(store, hub, "unet/diffusion_pytorch_model.safetensors")
    partial.parent.mkdir(parents=True)
    partial.write_bytes((repo_folder / "unet/diffusion_pytorch_model.safetensors").read_bytes()[:already])
    sizes: list[int] = []

    def spy(*args, **kwargs):
        chosen = select_files(*args, **kwargs)
        sizes.append(chosen.total_size)
        return chosen

    monkeypatch.setattr("nexus_image.adapters.models.install.select_files", spy)
    usage = shutil.disk_usage(store.root.parent)
    free = [0]
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage._replace(free=free[0]))
    with pytest.raises(NotEnoughDisk):
        pull(store, REPO, hub=HubClient(hub.url))
    free[0] = sizes[0] - already  # exactly what is left: a rename moves the downloads in
    assert pull(store, REPO, hub=HubClient(hub.url)).name == "fake-sd"
    assert sizes[0] <= need


def test_the_hubs_refusals_say_what_is_missing(hub: HubEmulator, store: ModelStore) -> None:
    client = HubClient(hub.url)
    with pytest.raises(HubNotFound, match="org/none at revision main not found"):
        pull(store, "org/none", hub=client)
    with pytest.raises(HubNotFound, match="Invalid rev id: v9"):
        pull(store, REPO, revision="v9", hub=client)
    assert pull(store, REPO, revision=hub.commit(REPO), hub=client).revision == hub.commit(REPO)


def test_an_unreachable_or_silent_hub_is_unavailable(store: ModelStore) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections, never answers
        port = silent.getsockname()[1]
        with pytest.raises(HubUnavailable, match="cannot reach the hub"):
            pull(store, REPO, hub=HubClient(f"http://127.0.0.1:{port}", timeout=0.3))
    with pytest.raises(HubUnavailable, match="cannot reach the hub"):
        pull(store, REPO, hub=HubClient(f"http://127.0.0.1:{port}", timeout=0.3))
    assert store.download_status().state == "failed"  # type: ignore[union-attr]


def test_a_taken_name_is_refused_before_the_network(
    hub: HubEmulator, store: ModelStore, tmp_path: Path
) -> None:
    (tmp_path / "x.safetensors").write_bytes(b"x")
    store.add(tmp_path / "x.safetensors", name="fake-sd")
    with pytest.raises(ModelExists):
        pull(store, REPO, hub=HubClient(hub.url))
    assert hub.requests == []
    replaced = pull(store, REPO, hub=HubClient(hub.url), replace=True)
    assert replaced.kind == "folder" and [m.name for m in store.list()] == ["fake-sd"]


def test_a_single_checkpoint_repository_installs_as_a_single_file(tmp_path: Path, store: ModelStore) -> None:
    folder = tmp_path / "single"
    folder.mkdir()
    (folder / "Dreamy-V2.safetensors").write_bytes(b"w" * 5000)
    (folder / "README.md").write_text("# dreamy")
    with HubEmulator({"someone/dreamy": folder}) as hub:
        model = pull(store, "someone/dreamy", hub=HubClient(hub.url))
    assert (model.name, model.kind) == ("dreamy", "single_file")
    assert model.path == store.installed_dir / "dreamy" / "Dreamy-V2.safetensors"
    assert model.path.read_bytes() == b"w" * 5000


def test_one_pull_at_a_time_per_store(hub: HubEmulator, store: ModelStore) -> None:
    store.downloads_dir.mkdir(parents=True)
    with (store.downloads_dir / ".lock").open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(ModelError, match="another pull"):
            pull(store, REPO, hub=HubClient(hub.url))
    assert hub.requests == []
