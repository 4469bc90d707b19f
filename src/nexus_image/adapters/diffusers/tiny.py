"""A tiny pipeline shaped like Stable Diffusion 1.5, with random weights.

It has SD 1.5's structure (CLIP text encoder, conditional UNet, a VAE with the 8x latent scale,
CLIP byte-level tokenizer) at a size that runs in well under a second on a CPU. Its images are
noise: it exists so that the real loading and generation code runs where no weights can be
downloaded. It is built once, saved in diffusers' folder layout and loaded like any model."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TINY_NAME = "tiny-sd15-random"
TINY_VERSION = "1"


def byte_symbols() -> list[str]:
    """The 256 printable stand-ins that byte-level BPE uses for the bytes 0..255."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    keep += list(range(ord("®"), ord("ÿ") + 1))
    mapping: dict[int, str] = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return [mapping[b] for b in range(256)]


def tokenizer_vocab() -> dict[str, int]:
    symbols = byte_symbols()
    vocab = {s: i for i, s in enumerate(symbols)}
    vocab.update({s + "</w>": 256 + i for i, s in enumerate(symbols)})
    vocab["<|startoftext|>"] = 512
    vocab["<|endoftext|>"] = 513
    return vocab


@dataclass(frozen=True, slots=True)
class PipelineShape:
    """The sizes that make a pipeline SD-1.5-shaped: TINY for tests, SD15 for benchmarks."""

    unet_channels: tuple[int, ...]
    unet_layers: int
    unet_attention: tuple[bool, ...]  # per down block, highest resolution first
    attention_head_dim: int
    vae_channels: tuple[int, ...]
    vae_layers: int
    norm_groups: int
    text_hidden: int
    text_intermediate: int
    text_layers: int
    text_heads: int
    text_vocab: int | None  # None: just the byte-level tokenizer's symbols


# Attention only at the lower resolution, four wide heads, keep a 512 px image fast on a CPU (eight
# heads, as SD 1.x has, cost a third more here). Written as one file, it says its heads and
# groups in the file's metadata (single_file.py), where the weights cannot tell them.
TINY = PipelineShape((8, 16), 1, (False, True), 4, (8, 8, 8, 8), 1, 4, 16, 32, 2, 2, None)
# Stable Diffusion 1.5: UNet 860M, VAE 84M, CLIP ViT-L/14 text encoder 123M parameters.
SD15 = PipelineShape(
    (320, 640, 1280, 1280),
    2,
    (True, True, True, False),
    8,
    (128, 256, 512, 512),
    2,
    32,
    768,
    3072,
    12,
    12,
    49408,
)


def build_random_pipeline(shape: PipelineShape, seed: int = 0) -> Any:
    import torch
    from diffusers import (
        AutoencoderKL,
        DPMSolverMultistepScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    down = tuple("CrossAttnDownBlock2D" if a else "DownBlock2D" for a in shape.unet_attention)
    up = tuple("CrossAttnUpBlock2D" if a else "UpBlock2D" for a in reversed(shape.unet_attention))
    unet = UNet2DConditionModel(
        sample_size=64,
        in_channels=4,
        out_channels=4,
        block_out_channels=shape.unet_channels,
        layers_per_block=shape.unet_layers,
        down_block_types=down,
        up_block_types=up,
        cross_attention_dim=shape.text_hidden,
        attention_head_dim=shape.attention_head_dim,
        norm_num_groups=shape.norm_groups,
    )
    blocks = len(shape.vae_channels)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        block_out_channels=shape.vae_channels,
        down_block_types=("DownEncoderBlock2D",) * blocks,
        up_block_types=("UpDecoderBlock2D",) * blocks,
        latent_channels=4,
        layers_per_block=shape.vae_layers,
        norm_num_groups=shape.norm_groups,
        sample_size=512,
    )
    vocab = tokenizer_vocab()
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=shape.text_vocab or len(vocab),
            hidden_size=shape.text_hidden,
            intermediate_size=shape.text_intermediate,
            num_hidden_layers=shape.text_layers,
            num_attention_heads=shape.text_heads,
            max_position_embeddings=77,
            bos_token_id=vocab["<|startoftext|>"],
            eos_token_id=vocab["<|endoftext|>"],
            pad_token_id=vocab["<|endoftext|>"],
        )
    )
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)
    scheduler = DPMSolverMultistepScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        steps_offset=1,
    )
    return StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def build_tiny_pipeline(seed: int = 0) -> Any:
    return build_random_pipeline(TINY, seed)


def ensure_tiny_pipeline(cache_dir: Path) -> Path:
    """The folder of the tiny pipeline under `cache_dir`, built and saved on first use."""
    target = cache_dir / f"{TINY_NAME}-v{TINY_VERSION}"
    return publish_folder(
        target, lambda staging: build_tiny_pipeline().save_pretrained(staging, safe_serialization=True)
    )


def publish_folder(target: Path, fill: Callable[[Path], object]) -> Path:
    """`target`, a pipeline folder made once: filled aside by `fill(staging)`, then renamed into
    place, so no reader sees half of it; where another process won the race, its copy stands."""
    if (target / "model_index.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    try:
        fill(staging)
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / "model_index.json").exists():  # only a concurrent copy may stand there
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def save_random_lora(pipe: Any, path: Path, rank: int = 4, seed: int = 0, scale: float = 1.0) -> Path:
    """A LoRA for `pipe`'s UNet with random weights (both factors, so it changes the output at
    once), saved as one .safetensors file in the layout diffusers' LoRA loader reads. For tests
    and benchmarks: what an operator's adapter file looks like, with no download."""
    import copy

    import torch
    from diffusers import StableDiffusionPipeline
    from peft import LoraConfig, get_peft_model_state_dict

    unet = copy.deepcopy(pipe.unet).to(torch.float32)
    torch.manual_seed(seed)
    config = LoraConfig(
        r=rank,
        lora_alpha=rank,
        init_lora_weights=False,  # random A and B: an adapter that does something
        target_modules=["to_q", "to_k", "to_v", "to_out.0"],
    )
    unet.add_adapter(config)
    with torch.no_grad():
        for name, parameter in unet.named_parameters():
            if "lora_" in name:
                parameter.mul_(scale)
    layers = get_peft_model_state_dict(unet)
    path.parent.mkdir(parents=True, exist_ok=True)
    StableDiffusionPipeline.save_lora_weights(
        str(path.parent), unet_lora_layers=layers, weight_name=path.name, safe_serialization=True
    )
    return path
