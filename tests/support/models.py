"""Models for tests: tiny random pipelines that differ (one seed each), installed in a model
store by name, and the pixels a given model draws for a job's parameters (rendered here, in
this process, with the same thread count as the servers), for a model-specific pixel check."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from nexus_image.adapters.diffusers import DiffusersGenerator, GeneratorOptions
from nexus_image.adapters.diffusers.tiny import TINY, build_random_pipeline
from nexus_image.adapters.models.store import ModelStore
from nexus_image.application.ports import RenderSpec
from nexus_image.domain.parameters import GenerationParameters

THREADS = 2  # as NEXUS_IMAGE_THREADS in the servers: the same seed gives the same bytes


def tiny_folder(folder: Path, seed: int) -> Path:
    """A tiny pipeline of random weights drawn from `seed`, saved as a diffusers folder."""
    if not (folder / "model_index.json").exists():
        build_random_pipeline(TINY, seed).save_pretrained(folder, safe_serialization=True)
    return folder


def install_models(models_root: Path, sources: Path, names: dict[str, int]) -> dict[str, Path]:
    """Each name installed (copied) in the store at `models_root` from a tiny pipeline of its
    seed; the folders made under `sources`, by name."""
    store = ModelStore(models_root)
    folders = {}
    for name, seed in names.items():
        folders[name] = tiny_folder(sources / name, seed)
        store.add(folders[name], name=name)
    return folders


def reference_pixels(folder: Path, cache: Path, parameters: GenerationParameters) -> np.ndarray:
    """What the model in `folder` draws for `parameters`, as an RGB array."""
    generator = DiffusersGenerator(GeneratorOptions(model=str(folder), cache_dir=cache, threads=THREADS))
    prompt, negative = parameters.styled_prompts()
    spec = RenderSpec(parameters, prompt, negative, parameters.width, parameters.height)
    raw = generator.generate(spec, lambda step, total: True)
    return np.frombuffer(raw.pixels, dtype=np.uint8).reshape(raw.height, raw.width, 3)


def png_pixels(data: bytes) -> np.ndarray:
    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    return np.asarray(image)


def difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference per channel, 0 to 255."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())
