"""A Stable Diffusion 1.5-shaped pipeline with random weights: the real model's compute and
memory, without its weights (which cannot be downloaded here). Benchmarks only."""

from __future__ import annotations

from pathlib import Path

from nexus_image.adapters.diffusers.tiny import SD15, build_random_pipeline


def ensure_sd15_shaped(folder: Path) -> Path:
    if not (folder / "model_index.json").exists():
        build_random_pipeline(SD15).save_pretrained(folder, safe_serialization=True)
    return folder
