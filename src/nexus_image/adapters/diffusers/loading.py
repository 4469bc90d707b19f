"""Loading a Stable Diffusion pipeline once: a diffusers folder, a single checkpoint file, a hub id,
or (with nothing configured) the tiny random pipeline."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from nexus_image.adapters.diffusers.checkpoint import (
    UnsupportedCheckpoint,
    derive_configs,
    read_hints,
    read_shapes,
)
from nexus_image.adapters.diffusers.tiny import ensure_tiny_pipeline, publish_folder

SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt")
DERIVED_CONFIGS = "single-file-configs"


class ModelLoadError(RuntimeError):
    pass


def resolve_source(model: str | None, cache_dir: Path) -> tuple[str, str]:
    """(kind, location): kind is folder, single_file or hub."""
    if not model:
        return "folder", str(ensure_tiny_pipeline(cache_dir))
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model_index.json").exists():
            raise ModelLoadError(
                f"{path} is a folder but has no model_index.json (diffusers layout expected)"
            )
        return "folder", str(path)
    if path.suffix in SINGLE_FILE_SUFFIXES:
        if not path.exists():
            raise ModelLoadError(f"model file {path} does not exist")
        return "single_file", str(path)
    if path.exists() or model.startswith((".", "/", "~")):
        raise ModelLoadError(f"{model} is neither a diffusers folder nor a .safetensors/.ckpt file")
    return "hub", model


def derived_config_folder(checkpoint: Path, cache_dir: Path) -> Path:
    """A diffusers config folder for an SD 1.x checkpoint, derived from its tensor shapes.

    The folder is named by a hash of its files, so every checkpoint of one architecture shares
    it and a changed derivation never reuses a stale one; it is written aside and renamed into
    place, so loads running at the same time never see half of it."""
    try:
        files = derive_configs(read_shapes(checkpoint), read_hints(checkpoint)).files()
    except UnsupportedCheckpoint as error:
        raise ModelLoadError(f"cannot load {checkpoint}: {error}") from error
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0{len(files[name])}\0".encode())
        digest.update(files[name])
    target = cache_dir / DERIVED_CONFIGS / f"sd1-{digest.hexdigest()[:24]}"

    def write(staging: Path) -> None:
        for name, content in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(content)

    return publish_folder(target, write)


def load_pipeline(model: str | None, cache_dir: Path, dtype: Any, config: str | None = None) -> Any:
    """Load the pipeline without touching the network unless a hub id is given.

    A single-file checkpoint is configured by `config` (a folder with the pipeline's configs and
    tokenizer) when given, else by configs derived from the checkpoint itself."""
    from diffusers import StableDiffusionPipeline

    kind, location = resolve_source(model, cache_dir)
    common: dict[str, Any] = {"dtype": dtype, "safety_checker": None, "requires_safety_checker": False}
    try:
        if kind == "folder":
            return StableDiffusionPipeline.from_pretrained(location, local_files_only=True, **common)
        if kind == "single_file":
            folder = config or str(derived_config_folder(Path(location), cache_dir))
            return StableDiffusionPipeline.from_single_file(
                location, config=folder, local_files_only=True, **common
            )
        return StableDiffusionPipeline.from_pretrained(location, **common)
    except ModelLoadError:
        raise
    except Exception as error:  # diffusers raises many kinds; say which model failed and why
        raise ModelLoadError(f"cannot load model {model or location!r}: {error}") from error
