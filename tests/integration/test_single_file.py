"""The tiny pipeline written as one LDM-layout checkpoint loads back through diffusers' single-file loader."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from nexus_image.adapters.diffusers.single_file import export_single_file
from nexus_image.adapters.diffusers.tiny import TINY, build_random_pipeline, ensure_tiny_pipeline

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


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test."""
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network use: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _same_weights(original, loaded) -> None:  # type: ignore[no-untyped-def]
    for name in ("unet", "vae", "text_encoder"):
        expected = dict(getattr(original, name).named_parameters())
        actual = dict(getattr(loaded, name).named_parameters())
        assert actual.keys() == expected.keys(), name
        for key, value in expected.items():
            assert torch.equal(actual[key], value), f"{name}.{key} differs"


@pytest.mark.parametrize("suffix", [".safetensors", ".ckpt"])
def test_a_checkpoint_alone_loads_and_draws_like_its_folder(
    tmp_path: Path, suffix: str, no_network: None
) -> None:
    from diffusers import StableDiffusionPipeline
    from safetensors.torch import load_file

    from nexus_image.adapters.diffusers.loading import load_pipeline

    cache = tmp_path / "cache"
    if suffix == ".ckpt":
        # No metadata in a .ckpt: the heads and groups are SD 1.x's conventions, so the model
        # written is one that follows them (the service's tiny pipeline has fewer, faster heads).
        folder = tmp_path / "conventional"
        shape = replace(TINY, attention_head_dim=8, norm_groups=8, text_heads=1)
        build_random_pipeline(shape).save_pretrained(folder, safe_serialization=True)
    else:
        folder = ensure_tiny_pipeline(cache)  # its heads and groups travel in the file's metadata
    target = export_single_file(folder, tmp_path / "tiny.safetensors")
    if suffix == ".ckpt":  # the LDM training layout: weights nested under state_dict
        torch.save({"state_dict": load_file(str(target)), "global_step": 1}, str(tmp_path / "tiny.ckpt"))
        target = tmp_path / "tiny.ckpt"

    original = StableDiffusionPipeline.from_pretrained(str(folder), local_files_only=True)  # type: ignore[no-untyped-call]
    loaded = load_pipeline(str(target), cache, torch.float32)

    _same_weights(original, loaded)
    assert loaded.unet.config.attention_head_dim == original.unet.config.attention_head_dim
    assert loaded.unet.config.norm_num_groups == original.unet.config.norm_num_groups
    assert loaded.text_encoder.config.num_attention_heads == original.text_encoder.config.num_attention_heads
    assert loaded.tokenizer.get_vocab() == original.tokenizer.get_vocab()
    prompt = "A Lighthouse, at dusk!"
    assert loaded.tokenizer(prompt).input_ids == original.tokenizer(prompt).input_ids
    assert type(loaded.scheduler).__name__ == "PNDMScheduler"  # SD 1.5's own schedule
    # The service draws with the scheduler a request names, made from the loaded one's config.
    loaded.scheduler = type(original.scheduler).from_config(loaded.scheduler.config)
    assert (_image(loaded) == _image(original)).all()


def test_the_derived_folder_is_shared_and_written_once(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from nexus_image.adapters.diffusers.loading import DERIVED_CONFIGS, derived_config_folder

    cache = tmp_path / "cache"
    target = export_single_file(ensure_tiny_pipeline(cache), tmp_path / "a.safetensors")
    copy = tmp_path / "b.safetensors"
    copy.write_bytes(target.read_bytes())

    with ThreadPoolExecutor(4) as pool:
        folders = set(pool.map(lambda path: derived_config_folder(path, cache), [target, copy] * 4))

    assert len(folders) == 1
    (folder,) = folders
    assert sorted(p.name for p in (cache / DERIVED_CONFIGS).iterdir()) == [folder.name]  # no staging left
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == [
        "model_index.json",
        "scheduler/scheduler_config.json",
        "text_encoder/config.json",
        "tokenizer/merges.txt",
        "tokenizer/tokenizer_config.json",
        "tokenizer/vocab.json",
        "unet/config.json",
        "vae/config.json",
    ]


def test_a_given_config_folder_still_comes_first(tmp_path: Path) -> None:
    from nexus_image.adapters.diffusers.loading import DERIVED_CONFIGS, load_pipeline

    cache = tmp_path / "cache"
    folder = ensure_tiny_pipeline(cache)
    target = export_single_file(folder, tmp_path / "tiny.safetensors")

    loaded = load_pipeline(str(target), cache, torch.float32, config=str(folder))

    assert type(loaded.scheduler).__name__ == "DPMSolverMultistepScheduler"  # the folder's, not SD 1.5's
    assert not (cache / DERIVED_CONFIGS).exists()


def test_other_files_are_refused_clearly(tmp_path: Path) -> None:
    from diffusers import StableDiffusionPipeline
    from safetensors.torch import save_file

    from nexus_image.adapters.diffusers.loading import ModelLoadError, load_pipeline
    from nexus_image.adapters.diffusers.tiny import save_random_lora

    cache = tmp_path / "cache"
    pipe = StableDiffusionPipeline.from_pretrained(str(ensure_tiny_pipeline(cache)), local_files_only=True)  # type: ignore[no-untyped-call]
    lora = save_random_lora(pipe, tmp_path / "style.safetensors")
    sdxl = tmp_path / "xl.safetensors"
    save_file(
        {"conditioner.embedders.0.transformer.text_model.final_layer_norm.weight": torch.ones(4)}, str(sdxl)
    )

    with pytest.raises(ModelLoadError, match="LoRA adapter, not a model"):
        load_pipeline(str(lora), cache, torch.float32)
    with pytest.raises(ModelLoadError, match="Stable Diffusion XL.*supported are Stable Diffusion 1.x"):
        load_pipeline(str(sdxl), cache, torch.float32)
