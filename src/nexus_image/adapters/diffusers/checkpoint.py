"""The diffusers configs of a Stable Diffusion 1.x checkpoint, derived from its tensor shapes.

A single-file checkpoint in the original CompVis/LDM layout holds weights only; diffusers needs a
config for every component to build the modules the weights go into. The shapes of the weights
tell most of it (block widths, layers per block, where attention is, the text encoder's size);
what they cannot tell follows SD 1.x's published configs:

- UNet `attention_head_dim` 8 (diffusers' name for SD 1.x's eight attention heads per block);
- group normalisation in 32 groups, or for a model narrower than that, the largest count up to
  32 that divides every block's width (the built-in test pipeline, 8 channels wide, has 8);
- CLIP attention heads of 64 dimensions (hidden size / 64), a single head for a text encoder
  narrower than 64; quick-GELU activations;
- SD 1.5's noise schedule (PNDM, scaled-linear betas 0.00085..0.012) and VAE scaling 0.18215.

`derive_configs` is a pure function of {tensor name: shape}; `read_shapes` reads those from a file
without loading the weights."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_image.adapters.diffusers.component_configs import (
    SUPPORTED,
    Shapes,
    UnsupportedCheckpoint,
    Weights,
    text_config,
    unet_config,
    vae_config,
)
from nexus_image.adapters.diffusers.tokenizer_files import tokenizer_files

__all__ = ["PipelineConfigs", "UnsupportedCheckpoint", "derive_configs", "read_shapes"]

UNET = "model.diffusion_model."
VAE = "first_stage_model."
TEXT = "cond_stage_model.transformer.text_model."
SD15_SCHEDULER: dict[str, Any] = {
    "_class_name": "PNDMScheduler",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
}


HINTS_KEY = "nexus_image.config"  # safetensors metadata: what the weights' shapes cannot tell
# The settings a file's metadata may give instead of the SD 1.x conventions, per component.
HINTED = {
    "unet": ("attention_head_dim", "norm_num_groups"),
    "vae": ("norm_num_groups",),
    "text_encoder": ("num_attention_heads",),
}
Hints = Mapping[str, Mapping[str, int]]


@dataclass(frozen=True, slots=True)
class PipelineConfigs:
    """What diffusers' `from_single_file(config=folder)` reads from the folder, component by component."""

    unet: dict[str, Any]
    vae: dict[str, Any]
    text_encoder: dict[str, Any]
    scheduler: dict[str, Any]

    def files(self) -> dict[str, bytes]:
        """The folder's files by relative path: model_index.json, each component's config, the tokenizer."""
        index = {
            "_class_name": "StableDiffusionPipeline",
            "feature_extractor": [None, None],
            "image_encoder": [None, None],
            "requires_safety_checker": False,
            "safety_checker": [None, None],
            "scheduler": ["diffusers", self.scheduler["_class_name"]],
            "text_encoder": ["transformers", "CLIPTextModel"],
            "tokenizer": ["transformers", "CLIPTokenizer"],
            "unet": ["diffusers", "UNet2DConditionModel"],
            "vae": ["diffusers", "AutoencoderKL"],
        }
        documents = {
            "model_index.json": index,
            "unet/config.json": self.unet,
            "vae/config.json": self.vae,
            "text_encoder/config.json": self.text_encoder,
            "scheduler/scheduler_config.json": self.scheduler,
        }
        out = {name: json.dumps(doc, indent=2, sort_keys=True).encode() for name, doc in documents.items()}
        text = self.text_encoder
        tokenizer = tokenizer_files(text["vocab_size"], text["max_position_embeddings"])
        out.update({f"tokenizer/{name}": content for name, content in tokenizer.items()})
        return out


def read_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Every tensor's name and shape: the safetensors header, or a `.ckpt` memory-mapped (its
    `state_dict` when nested), so a 4 GB file costs no more than its index."""
    import torch
    from safetensors import safe_open

    try:
        if path.suffix == ".safetensors":
            with safe_open(str(path), framework="pt") as handle:
                return {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}  # noqa: SIM118
        loaded = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:  # safetensors, pickle and zip readers each raise their own kinds
        raise UnsupportedCheckpoint(f"cannot read its tensors: {error}") from error
    state = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else None
    if not isinstance(state, dict):
        raise UnsupportedCheckpoint("it holds no dictionary of tensors")
    return {key: tuple(value.shape) for key, value in state.items() if isinstance(value, torch.Tensor)}


def read_hints(path: Path) -> dict[str, dict[str, int]]:
    """What a `.safetensors` file's metadata says of the settings its shapes cannot tell (files
    written by `export_single_file` carry them; others, and `.ckpt` files, carry none). Only the
    settings of `HINTED`, as positive integers; anything else there is ignored."""
    if path.suffix != ".safetensors":
        return {}
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            text = (handle.metadata() or {}).get(HINTS_KEY)
        found = json.loads(text) if text else {}
    except Exception:  # unreadable metadata is no hint: the shapes still decide
        return {}
    hints: dict[str, dict[str, int]] = {}
    for component, names in HINTED.items():
        given = found.get(component) if isinstance(found, dict) else None
        if isinstance(given, dict):
            values = {n: v for n, v in given.items() if n in names and type(v) is int and v > 0}
            if values:
                hints[component] = values
    return hints


def derive_configs(shapes: Shapes, hints: Hints | None = None) -> PipelineConfigs:
    """The configs of the SD 1.x pipeline whose LDM-named weights have these shapes; `hints`
    (see `read_hints`) replace the SD 1.x conventions for the heads and groups they name."""
    _identify(shapes)
    text = text_config(Weights.below(TEXT, shapes))
    unet = unet_config(Weights.below(UNET, shapes))
    given = hints or {}
    text.update(given.get("text_encoder", {}))
    unet.update(given.get("unet", {}))
    if unet["cross_attention_dim"] != text["hidden_size"]:
        raise UnsupportedCheckpoint(
            f"its UNet attends to {unet['cross_attention_dim']}-wide text features but its text "
            f"encoder makes {text['hidden_size']}-wide ones"
        )
    vae = vae_config(Weights.below(VAE, shapes))
    vae.update(given.get("vae", {}))
    return PipelineConfigs(unet, vae, text, dict(SD15_SCHEDULER))


def _identify(shapes: Shapes) -> None:
    """Refuse, saying what the file is, anything but an SD 1.x checkpoint in the LDM layout."""
    keys = list(shapes)
    if not keys:
        raise UnsupportedCheckpoint(f"the file holds no tensors; {SUPPORTED}")
    if any(key.startswith("conditioner.") for key in keys):
        raise UnsupportedCheckpoint(
            f"this is a Stable Diffusion XL checkpoint (conditioner.* keys); {SUPPORTED}"
        )
    if any(key.startswith("cond_stage_model.model.") for key in keys):
        raise UnsupportedCheckpoint(
            f"this is a Stable Diffusion 2.x checkpoint (OpenCLIP text encoder, "
            f"cond_stage_model.model.* keys); {SUPPORTED}"
        )
    has = {prefix: any(key.startswith(prefix) for key in keys) for prefix in (UNET, VAE, TEXT)}
    if not has[UNET] and any("lora" in key.lower() for key in keys):
        raise UnsupportedCheckpoint(
            f"this is a LoRA adapter, not a model: apply it as a LoRA on top of a model; {SUPPORTED}"
        )
    if not any(has.values()):
        heads = sorted({key.split(".")[0] for key in keys})[:6]
        raise UnsupportedCheckpoint(f"unrecognised checkpoint (its tensors begin with {heads}); {SUPPORTED}")
    names = {UNET: "UNet", VAE: "VAE", TEXT: "CLIP text encoder"}
    missing = [f"{names[prefix]} ({prefix}*)" for prefix, present in has.items() if not present]
    if missing:
        raise UnsupportedCheckpoint(f"the checkpoint lacks its {' and '.join(missing)}; {SUPPORTED}")
