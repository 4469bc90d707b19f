"""Loading a Stable Diffusion pipeline once: a diffusers folder, a single checkpoint file, a hub id,
or (with nothing configured) the tiny random pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nexus_image.adapters.diffusers.tiny import ensure_tiny_pipeline

SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt")


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


def load_pipeline(model: str | None, cache_dir: Path, dtype: Any, config: str | None = None) -> Any:
    """Load the pipeline without touching the network unless a hub id is given."""
    from diffusers import StableDiffusionPipeline

    kind, location = resolve_source(model, cache_dir)
    common: dict[str, Any] = {"dtype": dtype, "safety_checker": None, "requires_safety_checker": False}
    try:
        if kind == "folder":
            return StableDiffusionPipeline.from_pretrained(location, local_files_only=True, **common)
        if kind == "single_file":
            if config is None:
                raise ModelLoadError(
                    "a single-file checkpoint needs NEXUS_IMAGE_MODEL_CONFIG: a folder with the "
                    "pipeline's configs (model_index.json, component configs, tokenizer, noise schedule)"
                )
            return StableDiffusionPipeline.from_single_file(
                location, config=config, local_files_only=True, **common
            )
        return StableDiffusionPipeline.from_pretrained(location, **common)
    except ModelLoadError:
        raise
    except Exception as error:  # diffusers raises many kinds; say which model failed and why
        raise ModelLoadError(f"cannot load model {model or location!r}: {error}") from error
