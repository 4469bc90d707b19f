"""Writing a diffusers-layout Stable Diffusion 1.x pipeline as one original-layout checkpoint file.

Real SD 1.5 models are mostly distributed as a single `.safetensors` file in the original
CompVis/LDM key layout (`model.diffusion_model.*`, `first_stage_model.*`,
`cond_stage_model.transformer.*`), which the generator loads with
`StableDiffusionPipeline.from_single_file`. No such file can be downloaded here, so this module
makes one from a diffusers folder (typically the tiny random pipeline): the key mapping is the
inverse of the one diffusers applies when it loads a single file, so loading the written file
with `config=<the folder>` gives back exactly the same weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nexus_image.adapters.diffusers.checkpoint import HINTS_KEY

# One entry per submodule: (diffusers key prefix, LDM key prefix, renames of the leaf module).
Rule = tuple[str, str, dict[str, str]]

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
CLIP_PREFIX = "cond_stage_model.transformer.text_model."

_UNET_RESNET = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "time_emb_proj": "emb_layers.1",
    "conv_shortcut": "skip_connection",
}
_VAE_RESNET = {"conv_shortcut": "nin_shortcut"}
_VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
_NONE: dict[str, str] = {}


def _unet_rules(state: dict[str, Any], blocks: int, layers: int) -> list[Rule]:
    """LDM numbers every down/up layer (resnet [+ attention]) and every resampler in one sequence."""
    rules: list[Rule] = [
        ("time_embedding.linear_1.", "time_embed.0.", _NONE),
        ("time_embedding.linear_2.", "time_embed.2.", _NONE),
        ("conv_in.", "input_blocks.0.0.", _NONE),
        ("conv_norm_out.", "out.0.", _NONE),
        ("conv_out.", "out.2.", _NONE),
        ("mid_block.resnets.0.", "middle_block.0.", _UNET_RESNET),
        ("mid_block.attentions.0.", "middle_block.1.", _NONE),
        ("mid_block.resnets.1.", "middle_block.2.", _UNET_RESNET),
    ]
    index = 1
    for block in range(blocks):
        for layer in range(layers):
            rules.append((f"down_blocks.{block}.resnets.{layer}.", f"input_blocks.{index}.0.", _UNET_RESNET))
            rules.append((f"down_blocks.{block}.attentions.{layer}.", f"input_blocks.{index}.1.", _NONE))
            index += 1
        if block < blocks - 1:
            rules.append((f"down_blocks.{block}.downsamplers.0.conv.", f"input_blocks.{index}.0.op.", _NONE))
            index += 1
    index = 0
    for block in range(blocks):
        has_attention = any(k.startswith(f"up_blocks.{block}.attentions.") for k in state)
        for layer in range(layers + 1):
            rules.append((f"up_blocks.{block}.resnets.{layer}.", f"output_blocks.{index}.0.", _UNET_RESNET))
            rules.append((f"up_blocks.{block}.attentions.{layer}.", f"output_blocks.{index}.1.", _NONE))
            index += 1
        # The upsampler sits in the block's last layer, after the attention when there is one.
        slot = 2 if has_attention else 1
        rules.append((f"up_blocks.{block}.upsamplers.0.", f"output_blocks.{index - 1}.{slot}.", _NONE))
    return rules


def _vae_rules(blocks: int, layers: int) -> list[Rule]:
    """LDM numbers the decoder's up blocks from the lowest resolution, diffusers from the highest."""
    same = ("encoder.conv_in", "encoder.conv_out", "decoder.conv_in", "decoder.conv_out")
    rules: list[Rule] = [(f"{name}.", f"{name}.", _NONE) for name in (*same, "quant_conv", "post_quant_conv")]
    for part in ("encoder", "decoder"):
        rules.append((f"{part}.conv_norm_out.", f"{part}.norm_out.", _NONE))
        rules.append((f"{part}.mid_block.attentions.0.", f"{part}.mid.attn_1.", _VAE_ATTENTION))
        for i in range(2):
            rules.append((f"{part}.mid_block.resnets.{i}.", f"{part}.mid.block_{i + 1}.", _VAE_RESNET))
    for block in range(blocks):
        encoder, decoder = f"encoder.down_blocks.{block}.", f"decoder.up_blocks.{block}."
        down, up = f"encoder.down.{block}.", f"decoder.up.{blocks - 1 - block}."
        rules.append((f"{encoder}downsamplers.0.", f"{down}downsample.", _NONE))
        rules.append((f"{decoder}upsamplers.0.", f"{up}upsample.", _NONE))
        for layer in range(layers + 1):
            rules.append((f"{encoder}resnets.{layer}.", f"{down}block.{layer}.", _VAE_RESNET))
            rules.append((f"{decoder}resnets.{layer}.", f"{up}block.{layer}.", _VAE_RESNET))
    return rules


def _convert(state: dict[str, Any], rules: list[Rule], prefix: str) -> dict[str, Any]:
    """Rename every key of `state` by the first rule whose prefix it has; a key no rule covers is an error."""
    out: dict[str, Any] = {}
    for key, tensor in state.items():
        for source, target, leaves in rules:
            if key.startswith(source):
                module, _, param = key[len(source) :].rpartition(".")
                leaf = f"{leaves.get(module, module)}.{param}" if module else param
                out[prefix + target + leaf] = tensor
                break
        else:
            raise ValueError(f"no LDM name for diffusers parameter {key!r}")
    return out


def _single_int(value: Any, name: str) -> int:
    if not isinstance(value, int):
        raise ValueError(f"{name}={value!r}: the LDM layout needs the same number of layers in every block")
    return value


def ldm_state_dict(pipeline: Any) -> dict[str, Any]:
    """The pipeline's UNet, VAE and CLIP text encoder weights under their original LDM key names."""
    unet, vae = pipeline.unet, pipeline.vae
    if unet.config.mid_block_type != "UNetMidBlock2DCrossAttn":
        raise ValueError(f"unsupported UNet mid block {unet.config.mid_block_type!r}")
    unet_state = unet.state_dict()
    unet_rules = _unet_rules(
        unet_state,
        len(unet.config.block_out_channels),
        _single_int(unet.config.layers_per_block, "unet.layers_per_block"),
    )
    vae_rules = _vae_rules(
        len(vae.config.block_out_channels),
        _single_int(vae.config.layers_per_block, "vae.layers_per_block"),
    )
    vae_state = _convert(vae.state_dict(), vae_rules, VAE_PREFIX)
    for key, tensor in vae_state.items():
        # LDM's VAE attention projections are 1x1 convolutions; diffusers squeezes them back on load.
        if ".mid.attn_1." in key and key.endswith(("q.weight", "k.weight", "v.weight", "proj_out.weight")):
            vae_state[key] = tensor[:, :, None, None]
    # transformers >= 5.6 dropped CLIPTextModel's `text_model.` level; the file keeps it either way
    # (diffusers recognises an SD 1.x text encoder by `...transformer.text_model.embeddings...`).
    clip_state = {
        CLIP_PREFIX + key.removeprefix("text_model."): tensor
        for key, tensor in pipeline.text_encoder.state_dict().items()
    }
    return {**_convert(unet_state, unet_rules, UNET_PREFIX), **vae_state, **clip_state}


def hints_of(pipeline: Any) -> dict[str, dict[str, int]]:
    """The settings of `pipeline` that a loader cannot read from the weights' shapes (attention
    heads, normalisation groups), for a loader that would otherwise assume SD 1.x's."""
    return {
        "unet": {
            "attention_head_dim": int(pipeline.unet.config.attention_head_dim),
            "norm_num_groups": int(pipeline.unet.config.norm_num_groups),
        },
        "vae": {"norm_num_groups": int(pipeline.vae.config.norm_num_groups)},
        "text_encoder": {"num_attention_heads": int(pipeline.text_encoder.config.num_attention_heads)},
    }


def export_single_file(pipeline_folder: Path, target: Path) -> Path:
    """Write the diffusers pipeline in `pipeline_folder` as one LDM-layout `.safetensors` file at
    `target`, with its heads and groups in the file's metadata (`HINTS_KEY`).

    `StableDiffusionPipeline.from_single_file(target, config=pipeline_folder)` loads it back with
    identical UNet, VAE and text encoder weights (tokenizer, noise schedule and configs come from
    the folder)."""
    from diffusers import StableDiffusionPipeline
    from safetensors.torch import save_file

    pipeline = StableDiffusionPipeline.from_pretrained(
        str(pipeline_folder), local_files_only=True, safety_checker=None, requires_safety_checker=False
    )
    tensors = {key: tensor.detach().cpu().contiguous() for key, tensor in ldm_state_dict(pipeline).items()}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    save_file(tensors, str(partial), metadata={"format": "pt", HINTS_KEY: json.dumps(hints_of(pipeline))})
    partial.replace(target)
    return target
