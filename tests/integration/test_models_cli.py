"""`nexus-image models` as a user runs it: the real CLI in a subprocess against the local hub
emulator (HF_ENDPOINT), on the tiny pipeline with the extras real repositories carry."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexus_image.adapters.models import ModelStore
from tests.support.hub import HubEmulator

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "nexus-image")
REPO = "org/Tiny-SD"
UNET = "unet/diffusion_pytorch_model.safetensors"
UNET_FP16 = "unet/diffusion_pytorch_model.fp16.safetensors"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def repo_folder(tiny_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny pipeline as a hub repository holds it: an fp16 UNet beside the fp32 one, and
    files a pull must leave: a root checkpoint, .bin duplicates, a safety checker, a README."""
    import torch
    from safetensors.torch import load_file, save_file

    folder = tmp_path_factory.mktemp("hub") / "tiny-sd"
    shutil.copytree(tiny_folder, folder)
    half = {key: tensor.to(torch.float16) for key, tensor in load_file(folder / UNET).items()}
    save_file(half, str(folder / UNET_FP16), metadata={"format": "pt"})
    junk = os.urandom(2048)
    for path in (
        "v1-5-pruned.ckpt",
        "unet/diffusion_pytorch_model.bin",
        "vae/diffusion_pytorch_model.bin",
        "safety_checker/model.safetensors",
        "unet/diffusion_flax_model.msgpack",
    ):
        (folder / path).parent.mkdir(exist_ok=True)
        (folder / path).write_bytes(junk)
    (folder / "safety_checker" / "config.json").write_text("{}")
    (folder / "README.md").write_text("# tiny\n")
    return folder


@pytest.fixture
def hub(repo_folder: Path) -> Iterator[HubEmulator]:
    with HubEmulator({REPO: repo_folder}) as emulator:
        yield emulator


@pytest.fixture
def env(tmp_path: Path, hub: HubEmulator) -> dict[str, str]:
    env = {**os.environ, "NEXUS_IMAGE_DATA_DIR": str(tmp_path / "data"), "HF_ENDPOINT": hub.url}
    for name in ("HF_HUB_OFFLINE", "HF_TOKEN", "NEXUS_IMAGE_MODEL"):
        env.pop(name, None)
    return env


def models(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "models", *args], env=env, capture_output=True, text=True, timeout=120)


def store_of(env: dict[str, str]) -> ModelStore:
    return ModelStore(Path(env["NEXUS_IMAGE_DATA_DIR"]) / "models")


def test_pull_installs_a_pipeline_that_loads_and_shows_its_progress(
    env: dict[str, str], hub: HubEmulator, repo_folder: Path
) -> None:
    from diffusers import StableDiffusionPipeline

    result = models(env, "pull", REPO, "--variant", "fp16")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("installed tiny-sd (")
    assert re.search(r"\d+(\.\d+)?k/\d+(\.\d+)?k", result.stderr), result.stderr  # bytes done / total
    assert re.search(r"\d+(\.\d+)?[kMG]?B/s", result.stderr), result.stderr  # and a speed
    listed = json.loads(models(env, "list", "--json").stdout)
    assert [(m["name"], m["variant"], m["revision"], m["default"]) for m in listed] == [
        ("tiny-sd", "fp16", hub.commit(REPO), True)
    ]
    installed = Path(listed[0]["path"])
    assert sha256(installed / UNET) == sha256(repo_folder / UNET_FP16)  # the fp16 file, under the plain name
    assert not (installed / "safety_checker").exists() and not list(installed.rglob("*.bin"))
    pipe = StableDiffusionPipeline.from_pretrained(str(installed), local_files_only=True)  # type: ignore[no-untyped-call]
    assert pipe.unet is not None and pipe.vae is not None and pipe.tokenizer is not None


def test_a_killed_pull_resumes_where_it_stopped(
    env: dict[str, str], hub: HubEmulator, repo_folder: Path
) -> None:
    hub.bytes_per_second = 40_000
    downloads = store_of(env).downloads_dir / "org--Tiny-SD" / hub.commit(REPO)
    process = subprocess.Popen(
        [CLI, "models", "pull", REPO], env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    deadline, partial, size = time.monotonic() + 60, None, 0
    while partial is None:
        assert process.poll() is None and time.monotonic() < deadline, (
            "the pull ended before it could be killed"
        )
        for candidate in downloads.rglob("*.safetensors.incomplete") if downloads.exists() else ():
            size = candidate.stat().st_size
            whole = (
                (repo_folder / candidate.relative_to(downloads).as_posix().removesuffix(".incomplete"))
                .stat()
                .st_size
            )
            if 0 < size < whole // 2:
                partial = candidate
                break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    path = partial.relative_to(downloads).as_posix().removesuffix(".incomplete")
    status = store_of(env).download_status()
    assert status is not None and status.state == "failed" and "interrupted" in (status.error or "")
    assert "no models installed" in models(env, "list").stdout

    hub.bytes_per_second = None
    result = models(env, "pull", REPO)
    assert result.returncode == 0, result.stderr
    resumed = [
        int(r.range[6:-1]) for r in hub.file_requests(path) if r.range and r.range.startswith("bytes=")
    ]
    assert resumed and resumed[-1] >= size > 0, hub.file_requests(path)
    assert sha256(store_of(env).installed_dir / "tiny-sd" / path) == sha256(repo_folder / path)


def test_a_corrupted_file_fails_the_pull_and_installs_nothing(env: dict[str, str], hub: HubEmulator) -> None:
    hub.corrupted.add((REPO, "vae/diffusion_pytorch_model.safetensors"))
    result = models(env, "pull", REPO)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("error: checksum mismatch for vae/diffusion_pytorch_model.safetensors")
    )
    assert "no models installed" in models(env, "list").stdout
    assert not (store_of(env).installed_dir / "tiny-sd").exists()


def test_a_model_beyond_the_free_disk_is_refused_before_any_download(
    env: dict[str, str], hub: HubEmulator
) -> None:
    hub.advertised[(REPO, UNET)] = 10**18
    result = models(env, "pull", REPO)
    assert result.returncode == 1
    assert "error: not enough disk space" in result.stderr and "free" in result.stderr
    assert hub.file_requests() == []


def test_a_private_repository_needs_the_token(env: dict[str, str], hub: HubEmulator) -> None:
    hub.token = "hf_private"
    refused = models(env, "pull", REPO)
    assert refused.returncode == 2
    assert "error:" in refused.stderr and "--token" in refused.stderr
    assert models(env, "pull", REPO, "--token", "hf_private").returncode == 0
    assert all(r.authorization is None for r in hub.requests if r.path.startswith("/cdn/"))


def test_add_list_default_remove(
    env: dict[str, str], hub: HubEmulator, tiny_folder: Path, tmp_path: Path
) -> None:
    from nexus_image.adapters.diffusers.single_file import export_single_file

    checkpoint = export_single_file(tiny_folder, tmp_path / "Dreamy.safetensors")
    assert models(env, "add", str(tiny_folder), "--name", "tiny").returncode == 0
    added = models(env, "add", str(checkpoint))
    assert added.returncode == 0 and added.stdout.startswith("installed dreamy ("), added.stderr
    linked = models(env, "add", str(checkpoint), "--name", "dreamy-link", "--link")
    assert linked.returncode == 0, linked.stderr

    table = models(env, "list").stdout.splitlines()
    assert table[0].split() == ["NAME", "SIZE", "SOURCE", "REVISION"]
    rows = {line.lstrip("* ").split()[0]: line for line in table[1:]}
    assert set(rows) == {"tiny", "dreamy", "dreamy-link"}
    assert rows["tiny"].startswith("*") and "KB" in rows["tiny"] and f"folder:{tiny_folder}" in rows["tiny"]
    assert "(linked)" in rows["dreamy-link"]
    listed = {m.name: m for m in store_of(env).list()}
    assert listed["dreamy"].kind == "single_file" and listed["dreamy"].size == checkpoint.stat().st_size
    assert listed["dreamy-link"].path == checkpoint and listed["dreamy-link"].linked

    assert models(env, "default", "dreamy").returncode == 0
    assert store_of(env).default() == "dreamy"
    assert models(env, "remove", "dreamy").returncode == 0
    assert store_of(env).default() == "dreamy-link"  # the first left, by name
    assert models(env, "remove", "dreamy-link").returncode == 0
    assert checkpoint.exists()  # a linked model's file stays

    bad = (("remove", "dreamy"), ("default", "nope"), ("add", str(checkpoint), "--name", "Not Valid"))
    running = [
        subprocess.Popen(
            [CLI, "models", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for args in bad
    ]
    for args, process in zip(bad, running, strict=True):
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 2 and stderr.startswith("error: "), (args, stderr)
    assert [m.name for m in store_of(env).list()] == ["tiny"]
    assert hub.requests == []  # none of these touch the network
