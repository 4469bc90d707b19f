"""The tiny pipeline written as one LDM-layout checkpoint loads back through diffusers' single-file loader."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nexus_image.adapters.diffusers.single_file import export_single_file
from nexus_image.adapters.diffusers.tiny import ensure_tiny_pipeline

pytestmark = pytest.mark.integration


def _image(pipeline, seed: int = 0):  # type: ignore[no-untyped-def]
    return pipeline(
        "a lighthouse at dusk",
        num_inference_steps=2,
        height=64,
        width=64,
        output_type="np",
        generator=torch.Generator("cpu").manual_seed(seed),
    ).images


def test_single_file_round_trip(tmp_path: Path) -> None:
    from diffusers import StableDiffusionPipeline
    from safetensors import safe_open

    folder = ensure_tiny_pipeline(tmp_path / "cache")
    target = export_single_file(folder, tmp_path / "tiny.safetensors")

    assert target == tmp_path / "tiny.safetensors"
    assert target.is_file()
    with safe_open(str(target), framework="pt") as handle:
        keys = set(handle.keys())
        # LDM keeps the VAE attention projections as 1x1 convolutions.
        assert handle.get_tensor("first_stage_model.encoder.mid.attn_1.q.weight").ndim == 4
    assert {k.split(".")[0] for k in keys} == {"model", "first_stage_model", "cond_stage_model"}
    assert "cond_stage_model.transformer.text_model.embeddings.position_embedding.weight" in keys
    assert "model.diffusion_model.input_blocks.0.0.weight" in keys

    original = StableDiffusionPipeline.from_pretrained(str(folder), local_files_only=True)  # type: ignore[no-untyped-call]
    loaded = StableDiffusionPipeline.from_single_file(str(target), config=str(folder), local_files_only=True)

    for name in ("unet", "vae", "text_encoder"):
        expected = dict(getattr(original, name).named_parameters())
        actual = dict(getattr(loaded, name).named_parameters())
        assert actual.keys() == expected.keys(), name
        for key, value in expected.items():
            assert actual[key].device.type == "cpu", f"{name}.{key} was not loaded"
            assert actual[key].dtype == value.dtype, f"{name}.{key}"
            assert torch.equal(actual[key], value), f"{name}.{key} differs"

    assert loaded.vae.config.scaling_factor == original.vae.config.scaling_factor
    first, second = _image(original), _image(loaded)
    assert first.shape == (1, 64, 64, 3)
    assert (first == second).all()
