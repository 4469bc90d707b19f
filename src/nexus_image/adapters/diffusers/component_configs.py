"""Each Stable Diffusion 1.x component's diffusers config, read off its weights' LDM names and shapes.

The shapes tell the widths, depths and where attention is; what they cannot tell follows SD 1.x's
published configs (see `checkpoint.py` for the list)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nexus_image.adapters.diffusers.tokenizer_files import KNOWN_VOCABULARY_SIZES, unknown_vocabulary

SUPPORTED = (
    "supported are Stable Diffusion 1.x checkpoints in the original LDM layout "
    "(model.diffusion_model.*, first_stage_model.*, cond_stage_model.transformer.*) "
    "and any Stable Diffusion 1.x/2.x model as a diffusers folder"
)
Shapes = Mapping[str, Sequence[int]]


class UnsupportedCheckpoint(ValueError):
    """The file is not a Stable Diffusion 1.x checkpoint this loader can configure."""


@dataclass(frozen=True, slots=True)
class Weights:
    """One component's tensor shapes, by name below the component's `prefix`."""

    prefix: str
    shapes: dict[str, tuple[int, ...]]

    @classmethod
    def below(cls, prefix: str, shapes: Shapes) -> Weights:
        cut = len(prefix)
        return cls(prefix, {k[cut:]: tuple(v) for k, v in shapes.items() if k.startswith(prefix)})

    def __contains__(self, name: object) -> bool:
        return name in self.shapes

    def shape(self, name: str) -> tuple[int, ...]:
        if name not in self.shapes:
            raise UnsupportedCheckpoint(
                f"it has no tensor {self.prefix + name!r}, which an SD 1.x checkpoint has; {SUPPORTED}"
            )
        return self.shapes[name]

    def numbers(self, name: str) -> list[int]:
        """The numbers N of the `name` + `N.` submodules present, in order."""
        pattern = re.compile(re.escape(name) + r"(\d+)\.")
        return sorted({int(match.group(1)) for key in self.shapes if (match := pattern.match(key))})


def norm_groups(channels: Sequence[int]) -> int:
    """SD's 32 normalisation groups, or the largest count below that which divides every width."""
    common = math.gcd(*channels)
    return max(count for count in range(1, 33) if common % count == 0)


def text_heads(hidden: int) -> int:
    """CLIP's attention heads are 64 wide; a text encoder narrower than one head has one."""
    if hidden < 64:
        return 1
    if hidden % 64:
        raise UnsupportedCheckpoint(
            f"its text encoder is {hidden} wide, not a multiple of CLIP's 64-wide heads"
        )
    return hidden // 64


def _same(values: Sequence[Any], what: str) -> Any:
    if len(set(values)) != 1:
        raise UnsupportedCheckpoint(f"{what} differ ({list(values)}), which SD 1.x's never do")
    return values[0]


def unet_config(unet: Weights) -> dict[str, Any]:
    """Down blocks are runs of ResNet layers, each ended by a downsampler but the last; up blocks
    hold one layer more. Attention shows as a `proj_in` beside a layer's ResNet."""
    blocks: list[list[int]] = [[]]
    for index in unet.numbers("input_blocks.")[1:]:
        if f"input_blocks.{index}.0.op.weight" in unet:
            blocks.append([])
        else:
            unet.shape(f"input_blocks.{index}.0.in_layers.2.weight")
            blocks[-1].append(index)
    layers = _same([len(block) for block in blocks], "the UNet's layers per block")
    if not layers:
        raise UnsupportedCheckpoint(f"its UNet has a block without layers; {SUPPORTED}")
    down = [
        _same([f"input_blocks.{i}.1.proj_in.weight" in unet for i in b], "attention in a block")
        for b in blocks
    ]
    ups = unet.numbers("output_blocks.")
    if len(ups) != len(blocks) * (layers + 1):
        raise UnsupportedCheckpoint(f"its UNet has {len(ups)} up layers for {len(blocks)} blocks of {layers}")
    up = [
        _same([f"output_blocks.{i}.1.proj_in.weight" in unet for i in ups[b : b + layers + 1]], "attention")
        for b in range(0, len(ups), layers + 1)
    ]
    channels = [unet.shape(f"input_blocks.{block[0]}.0.out_layers.3.weight")[0] for block in blocks]
    return {
        "_class_name": "UNet2DConditionModel",
        "act_fn": "silu",
        "attention_head_dim": 8,
        "block_out_channels": channels,
        "center_input_sample": False,
        "cross_attention_dim": unet.shape("middle_block.1.transformer_blocks.0.attn2.to_k.weight")[1],
        "down_block_types": ["CrossAttnDownBlock2D" if a else "DownBlock2D" for a in down],
        "downsample_padding": 1,
        "flip_sin_to_cos": True,
        "freq_shift": 0,
        "in_channels": unet.shape("input_blocks.0.0.weight")[1],
        "layers_per_block": layers,
        "mid_block_scale_factor": 1,
        "norm_eps": 1e-05,
        "norm_num_groups": norm_groups(channels),
        "out_channels": unet.shape("out.2.weight")[0],
        "sample_size": 64,
        "transformer_layers_per_block": len(unet.numbers("middle_block.1.transformer_blocks.")),
        "up_block_types": ["CrossAttnUpBlock2D" if a else "UpBlock2D" for a in up],
        "use_linear_projection": len(unet.shape("middle_block.1.proj_in.weight")) == 2,
    }


def vae_config(vae: Weights) -> dict[str, Any]:
    blocks = vae.numbers("encoder.down.")
    if not blocks:
        raise UnsupportedCheckpoint(f"its VAE encoder has no blocks; {SUPPORTED}")
    layers = _same(
        [len(vae.numbers(f"encoder.down.{b}.block.")) for b in blocks], "the VAE's layers per block"
    )
    channels = [vae.shape(f"encoder.down.{b}.block.0.conv1.weight")[0] for b in blocks]
    return {
        "_class_name": "AutoencoderKL",
        "act_fn": "silu",
        "block_out_channels": channels,
        "down_block_types": ["DownEncoderBlock2D"] * len(blocks),
        "in_channels": vae.shape("encoder.conv_in.weight")[1],
        "latent_channels": vae.shape("decoder.conv_in.weight")[1],
        "layers_per_block": layers,
        "mid_block_add_attention": "encoder.mid.attn_1.q.weight" in vae,
        "norm_num_groups": norm_groups(channels),
        "out_channels": vae.shape("decoder.conv_out.weight")[0],
        "sample_size": 512,
        "scaling_factor": 0.18215,
        "up_block_types": ["UpDecoderBlock2D"] * len(blocks),
        "use_post_quant_conv": "post_quant_conv.weight" in vae,
        "use_quant_conv": "quant_conv.weight" in vae,
    }


def text_config(text: Weights) -> dict[str, Any]:
    """CLIP's text transformer; its start and end tokens are the vocabulary's last two."""
    vocab, hidden = text.shape("embeddings.token_embedding.weight")
    if vocab not in KNOWN_VOCABULARY_SIZES:
        raise UnsupportedCheckpoint(unknown_vocabulary(vocab))
    return {
        "architectures": ["CLIPTextModel"],
        "attention_dropout": 0.0,
        "bos_token_id": vocab - 2,
        "eos_token_id": vocab - 1,
        "hidden_act": "quick_gelu",
        "hidden_size": hidden,
        "initializer_factor": 1.0,
        "initializer_range": 0.02,
        "intermediate_size": text.shape("encoder.layers.0.mlp.fc1.weight")[0],
        "layer_norm_eps": 1e-05,
        "max_position_embeddings": text.shape("embeddings.position_embedding.weight")[0],
        "model_type": "clip_text_model",
        "num_attention_heads": text_heads(hidden),
        "num_hidden_layers": len(text.numbers("encoder.layers.")),
        "pad_token_id": vocab - 1,
        "projection_dim": hidden,
        "vocab_size": vocab,
    }
