"""A single SD 1.x checkpoint's configs are derived from its tensor shapes alone.

The shapes come from real diffusers/transformers modules built on the meta device (no memory, no
weights) and renamed to the original LDM layout the way a checkpoint file names them."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexus_image.adapters.diffusers.checkpoint import UnsupportedCheckpoint, derive_configs, read_shapes
from nexus_image.adapters.diffusers.component_configs import norm_groups, text_heads
from nexus_image.adapters.diffusers.tiny import SD15

# Stable Diffusion 1.5's published component configs (runwayml/stable-diffusion-v1-5).
SD15_UNET: dict[str, Any] = {
    "act_fn": "silu",
    "attention_head_dim": 8,
    "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False,
    "cross_attention_dim": 768,
    "down_block_types": [
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "DownBlock2D",
    ],
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "out_channels": 4,
    "sample_size": 64,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
}
SD15_VAE: dict[str, Any] = {
    "act_fn": "silu",
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "in_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "out_channels": 3,
    "sample_size": 512,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
}
# Its text encoder's architecture (CLIP ViT-L/14); the special token ids, which only the unused
# pooled output reads, follow the tokenizer instead of that file's legacy 0/1/2.
SD15_TEXT: dict[str, Any] = {
    "hidden_act": "quick_gelu",
    "hidden_size": 768,
    "intermediate_size": 3072,
    "layer_norm_eps": 1e-05,
    "max_position_embeddings": 77,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "vocab_size": 49408,
}
SD15_SCHEDULER: dict[str, Any] = {
    "_class_name": "PNDMScheduler",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
    "clip_sample": False,
}


def ldm_shapes(unet: dict[str, Any], vae: dict[str, Any], text: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """The LDM-named tensor shapes of the pipeline these configs describe, built on the meta device."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from nexus_image.adapters.diffusers.single_file import ldm_state_dict

    with torch.device("meta"):
        parts = SimpleNamespace(
            unet=UNet2DConditionModel.from_config(unet),  # type: ignore[no-untyped-call]
            vae=AutoencoderKL.from_config(vae),  # type: ignore[no-untyped-call]
            text_encoder=CLIPTextModel(CLIPTextConfig(**text)),
        )
    return {key: tuple(tensor.shape) for key, tensor in ldm_state_dict(parts).items()}


@pytest.fixture(scope="module")
def sd15_shapes() -> dict[str, tuple[int, ...]]:
    return ldm_shapes(SD15_UNET, SD15_VAE, SD15_TEXT)


def test_sd15_shapes_give_sd15_configs(sd15_shapes: dict[str, tuple[int, ...]]) -> None:
    configs = derive_configs(sd15_shapes)

    assert {key: configs.unet[key] for key in SD15_UNET} == SD15_UNET
    assert {key: configs.vae[key] for key in SD15_VAE} == SD15_VAE
    assert {key: configs.text_encoder[key] for key in SD15_TEXT} == SD15_TEXT
    assert configs.scheduler == SD15_SCHEDULER
    assert configs.vae["scaling_factor"] == 0.18215
    assert configs.unet["transformer_layers_per_block"] == 1 and not configs.unet["use_linear_projection"]
    # the benchmark shape in tiny.py is SD 1.5's
    assert list(SD15.unet_channels) == SD15_UNET["block_out_channels"]
    assert SD15.text_heads == configs.text_encoder["num_attention_heads"]


def test_the_derived_clip_tokenizer_is_clips(sd15_shapes: dict[str, tuple[int, ...]], tmp_path: Path) -> None:
    from transformers import CLIPTokenizer

    files = derive_configs(sd15_shapes).files()
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content)
    assert json.loads(files["model_index.json"])["scheduler"] == ["diffusers", "PNDMScheduler"]
    assert files["tokenizer/merges.txt"].startswith(b"#version: 0.2\ni n\n")
    assert len(json.loads(files["tokenizer/vocab.json"])) == 49408

    tokenizer = CLIPTokenizer.from_pretrained(str(tmp_path / "tokenizer"), local_files_only=True)
    assert tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert tokenizer.model_max_length == 77
    assert len(tokenizer("word " * 100, truncation=True).input_ids) == 77


XL_KEY = "conditioner.embedders.0.transformer.text_model.final_layer_norm.weight"
OPEN_CLIP_KEY = "cond_stage_model.model.token_embedding.weight"
LORA_KEY = "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight"
TOKENS_KEY = "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"
CROSS_KEY = "model.diffusion_model.middle_block.1.transformer_blocks.0.attn2.to_k.weight"
SUPPORTED = "supported are Stable Diffusion 1.x checkpoints in the original LDM layout"


@pytest.mark.parametrize(
    ("keep_sd15", "add", "message"),
    [
        (True, {XL_KEY: (768,)}, f"Stable Diffusion XL checkpoint.*{SUPPORTED}"),
        (True, {OPEN_CLIP_KEY: (49408, 1024)}, f"Stable Diffusion 2.x checkpoint.*{SUPPORTED}"),
        (False, {LORA_KEY: (4, 320)}, f"LoRA adapter, not a model.*{SUPPORTED}"),
        (False, {"encoder.conv_in.weight": (128, 3, 3, 3)}, f"unrecognised.*'encoder'.*{SUPPORTED}"),
        (False, {}, "no tensors"),
        (True, {TOKENS_KEY: (1000, 768)}, "vocabulary of 1000 tokens.*CLIP's 49408"),
        (True, {CROSS_KEY: (1280, 1024)}, "attends to 1024-wide text features.*768-wide"),
    ],
)
def test_other_files_are_refused_saying_what_they_are(
    sd15_shapes: dict[str, tuple[int, ...]], keep_sd15: bool, add: dict[str, tuple[int, ...]], message: str
) -> None:
    shapes = {**(sd15_shapes if keep_sd15 else {}), **add}
    with pytest.raises(UnsupportedCheckpoint, match=message):
        derive_configs(shapes)


@pytest.mark.parametrize(
    ("dropped", "message"),
    [
        ("first_stage_model.", r"lacks its VAE \(first_stage_model\.\*\)"),
        ("cond_stage_model.", r"lacks its CLIP text encoder"),
        (
            "model.diffusion_model.middle_block.1.",
            r"no tensor 'model\.diffusion_model\.middle_block\.1\.",
        ),
    ],
)
def test_incomplete_checkpoints_are_refused(
    sd15_shapes: dict[str, tuple[int, ...]], dropped: str, message: str
) -> None:
    with pytest.raises(UnsupportedCheckpoint, match=message):
        derive_configs({key: shape for key, shape in sd15_shapes.items() if not key.startswith(dropped)})


@st.composite
def pipelines(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Small SD-1.x-like pipelines: any widths, depths and attention placement the weights show,
    the conventions (8 UNet heads, the group rule, 64-wide text heads) for what they do not."""
    blocks = draw(st.integers(1, 3))
    unet_channels = [8 * draw(st.integers(1, 4)) for _ in range(blocks)]
    attention = [draw(st.booleans()) for _ in range(blocks)]
    hidden = draw(st.sampled_from([16, 32, 64, 128]))
    unet = {
        "block_out_channels": unet_channels,
        "layers_per_block": draw(st.integers(1, 2)),
        "down_block_types": ["CrossAttnDownBlock2D" if a else "DownBlock2D" for a in attention],
        "up_block_types": ["CrossAttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attention)],
        "in_channels": draw(st.sampled_from([4, 9])),
        "out_channels": 4,
        "cross_attention_dim": hidden,
        "attention_head_dim": 8,
        "norm_num_groups": norm_groups(unet_channels),
        "use_linear_projection": draw(st.booleans()),
    }
    vae_blocks = draw(st.integers(1, 4))
    vae_channels = [8 * draw(st.integers(1, 4)) for _ in range(vae_blocks)]
    vae = {
        "block_out_channels": vae_channels,
        "down_block_types": ["DownEncoderBlock2D"] * vae_blocks,
        "up_block_types": ["UpDecoderBlock2D"] * vae_blocks,
        "layers_per_block": draw(st.integers(1, 2)),
        "latent_channels": draw(st.sampled_from([4, 8])),
        "norm_num_groups": norm_groups(vae_channels),
    }
    text = {
        "hidden_size": hidden,
        "intermediate_size": draw(st.sampled_from([2, 4])) * hidden,
        "num_hidden_layers": draw(st.integers(1, 3)),
        "num_attention_heads": text_heads(hidden),
        "vocab_size": draw(st.sampled_from([514, 49408])),
        "max_position_embeddings": draw(st.sampled_from([77, 154])),
    }
    return unet, vae, text


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines())
def test_configs_round_trip_through_ldm_names(
    pipeline: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
) -> None:
    unet, vae, text = pipeline
    configs = derive_configs(ldm_shapes(unet, vae, text))
    assert {key: configs.unet[key] for key in unet} == unet
    assert {key: configs.vae[key] for key in vae} == vae
    assert {key: configs.text_encoder[key] for key in text} == text


@given(st.lists(st.integers(1, 4096), min_size=1, max_size=6))
def test_norm_groups_is_the_largest_count_up_to_32_dividing_every_width(channels: list[int]) -> None:
    groups = norm_groups(channels)
    assert 1 <= groups <= 32
    assert all(c % groups == 0 for c in channels)
    assert not any(all(c % more == 0 for c in channels) for more in range(groups + 1, 33))
    if all(c % 32 == 0 for c in channels):
        assert groups == 32


@given(st.integers(1, 63) | st.integers(1, 64).map(lambda n: 64 * n))
def test_text_heads_are_64_wide_or_one(hidden: int) -> None:
    heads = text_heads(hidden)
    assert heads == (1 if hidden < 64 else hidden // 64)
    assert hidden % heads == 0


def test_text_widths_that_no_64_wide_heads_fill_are_refused() -> None:
    with pytest.raises(UnsupportedCheckpoint, match="multiple of CLIP's 64"):
        text_heads(96)


def test_shapes_are_read_from_safetensors_and_ckpt_files_alike(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    tensors = {"model.diffusion_model.out.2.weight": torch.zeros(4, 8, 3, 3), "a.b": torch.zeros(7)}
    expected = {"model.diffusion_model.out.2.weight": (4, 8, 3, 3), "a.b": (7,)}
    save_file(tensors, str(tmp_path / "m.safetensors"))
    torch.save({"state_dict": tensors, "global_step": 470000}, str(tmp_path / "nested.ckpt"))
    torch.save(tensors, str(tmp_path / "flat.ckpt"))

    for name in ("m.safetensors", "nested.ckpt", "flat.ckpt"):
        assert read_shapes(tmp_path / name) == expected, name

    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint")
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    for name in ("junk.safetensors", "junk.ckpt"):
        with pytest.raises(UnsupportedCheckpoint, match="cannot read its tensors"):
            read_shapes(tmp_path / name)


def test_a_ckpt_with_arbitrary_objects_is_not_unpickled(tmp_path: Path) -> None:
    import torch

    torch.save({"state_dict": {}, "callback": SimpleNamespace(run="code")}, str(tmp_path / "unsafe.ckpt"))
    with pytest.raises(UnsupportedCheckpoint, match="cannot read its tensors"):
        read_shapes(tmp_path / "unsafe.ckpt")


def test_a_files_metadata_gives_the_heads_and_groups_its_shapes_cannot_tell(
    sd15_shapes: dict[str, tuple[int, ...]], tmp_path: Path
) -> None:
    import json

    import torch
    from safetensors.torch import save_file

    from nexus_image.adapters.diffusers.checkpoint import HINTS_KEY, derive_configs, read_hints

    given = {
        "unet": {"attention_head_dim": 4, "norm_num_groups": 16, "sample_size": 99},  # not a hint: ignored
        "vae": {"norm_num_groups": "8"},  # not an integer: ignored
        "text_encoder": {"num_attention_heads": 6},
        "scheduler": {"num_train_timesteps": 10},  # not a hinted component
    }
    path = tmp_path / "hinted.safetensors"
    save_file({"x": torch.zeros(1)}, str(path), metadata={HINTS_KEY: json.dumps(given)})
    hints = read_hints(path)
    assert hints == {
        "unet": {"attention_head_dim": 4, "norm_num_groups": 16},
        "text_encoder": {"num_attention_heads": 6},
    }
    configs = derive_configs(sd15_shapes, hints)
    assert (configs.unet["attention_head_dim"], configs.unet["norm_num_groups"]) == (4, 16)
    assert configs.text_encoder["num_attention_heads"] == 6
    assert (
        configs.vae["norm_num_groups"] == 32
        and configs.unet["sample_size"] == derive_configs(sd15_shapes).unet["sample_size"]
    )
    bare = tmp_path / "bare.safetensors"
    save_file({"x": torch.zeros(1)}, str(bare))
    assert read_hints(bare) == {} and read_hints(tmp_path / "model.ckpt") == {}
