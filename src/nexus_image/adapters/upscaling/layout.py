"""ESRGAN (RRDBNet) state dicts: their key layouts and the architecture their shapes tell.

Three layouts name the same network. The original ESRGAN one is a flattened `nn.Sequential`
(`model.0` the first convolution, `model.1.sub.N.RDBj.convk.0` the blocks, `model.1.sub.NB`
the trunk's last convolution, then one convolution per 2x upsampling, the high-resolution
convolution and the last one); BSRGAN/RealSR's names them (`RRDB_trunk`, `trunk_conv`,
`upconvN`, `HRconv`); Real-ESRGAN/BasicSR's too (`body`, `conv_body`, `conv_upN`, `conv_hr`).
Everything here works on names and shapes alone (no torch): the catalog reads a safetensors
header with it, the loader the tensors themselves."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

_OLD_BLOCK = re.compile(r"model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(weight|bias)")
_OLD_TRUNK = re.compile(r"model\.1\.sub\.(\d+)\.(weight|bias)")
_OLD_LAYER = re.compile(r"model\.(\d+)\.(weight|bias)")
_NAMED_BLOCK = re.compile(r"(?:body|RRDB_trunk)\.(\d+)\.(?:rdb|RDB)(\d)\.conv(\d)\.(weight|bias)")
_NAMED_UP = re.compile(r"(?:conv_up|upconv)(\d)\.(weight|bias)")
_NAMED = {
    "conv_first": "conv_first",
    "conv_body": "conv_body",
    "trunk_conv": "conv_body",
    "conv_hr": "conv_hr",
    "HRconv": "conv_hr",
    "conv_last": "conv_last",
}


class NotEsrgan(ValueError):
    """The state dict is not one of the RRDBNet layouts (or not a shape this loader runs)."""


@dataclass(frozen=True, slots=True)
class Architecture:
    """What a state dict's shapes say: features, growth channels, block count, 2x upsampling
    steps, the pixel-unshuffle factor applied to the input (Real-ESRGAN's x2: 2, x1: 4), and
    the image channels in and out."""

    features: int
    growth: int
    blocks: int
    upsamplings: int
    unshuffle: int
    in_channels: int
    out_channels: int

    @property
    def scale(self) -> int:
        return (1 << self.upsamplings) // self.unshuffle


def unwrap(state: Mapping[str, Any]) -> Mapping[str, Any]:
    """BasicSR saves its weights under `params_ema` (the averaged ones, preferred) or `params`."""
    for wrapper in ("params_ema", "params"):
        inner = state.get(wrapper)
        if isinstance(inner, Mapping):
            return inner
    return state


def canonical(state: Mapping[str, T]) -> dict[str, T]:
    """The state dict under BasicSR's names (`conv_first`, `body.N.rdbj.convk`, `conv_body`,
    `conv_up1..`, `conv_hr`, `conv_last`), whichever layout it came in."""
    state = {key.removeprefix("module."): value for key, value in state.items()}
    if "model.0.weight" in state:
        return _from_sequential(state)
    if "conv_first.weight" in state:
        return _from_named(state)
    raise NotEsrgan("neither the ESRGAN nor the Real-ESRGAN key layout")


def _from_named(state: Mapping[str, T]) -> dict[str, T]:
    renamed: dict[str, T] = {}
    for key, value in state.items():
        if block := _NAMED_BLOCK.fullmatch(key):
            index, rdb, conv, kind = block.groups()
            renamed[f"body.{index}.rdb{rdb}.conv{conv}.{kind}"] = value
        elif up := _NAMED_UP.fullmatch(key):
            renamed[f"conv_up{up[1]}.{up[2]}"] = value
        else:
            layer, _, kind = key.rpartition(".")
            if layer not in _NAMED:
                raise NotEsrgan(f"unexpected key {key!r}")
            renamed[f"{_NAMED[layer]}.{kind}"] = value
    return renamed


def _from_sequential(state: Mapping[str, T]) -> dict[str, T]:
    renamed: dict[str, T] = {}
    trunk: dict[int, dict[str, T]] = {}
    tail: dict[int, dict[str, T]] = {}
    for key, value in state.items():
        if block := _OLD_BLOCK.fullmatch(key):
            index, rdb, conv, kind = block.groups()
            renamed[f"body.{index}.rdb{rdb}.conv{conv}.{kind}"] = value
        elif trunk_match := _OLD_TRUNK.fullmatch(key):
            trunk.setdefault(int(trunk_match[1]), {})[trunk_match[2]] = value
        elif layer := _OLD_LAYER.fullmatch(key):
            tail.setdefault(int(layer[1]), {})[layer[2]] = value
        else:
            raise NotEsrgan(f"unexpected key {key!r}")
    # The trunk's last convolution is the one entry of `model.1.sub` that is not a block.
    if len(trunk) != 1:
        raise NotEsrgan("the trunk has no single closing convolution")
    (closing,) = trunk.values()
    renamed.update({f"conv_body.{kind}": value for kind, value in closing.items()})
    # After the first convolution (model.0) and the trunk (model.1), the layers that hold
    # weights are the upsampling convolutions, in order, then the high-resolution and the last.
    positions = sorted(tail)
    if positions[:1] != [0] or len(positions) < 3:
        raise NotEsrgan("the sequence lacks its first or its closing convolutions")
    names = [
        "conv_first",
        *(f"conv_up{n}" for n in range(1, len(positions) - 2)),
        "conv_hr",
        "conv_last",
    ]
    for name, position in zip(names, positions, strict=True):
        renamed.update({f"{name}.{kind}": value for kind, value in tail[position].items()})
    return renamed


def read_architecture(shapes: Mapping[str, tuple[int, ...]]) -> Architecture:
    """The architecture of a canonical state dict, from its shapes alone."""
    try:
        features, first_in = shapes["conv_first.weight"][:2]
        growth = shapes["body.0.rdb1.conv1.weight"][0]
        out_channels = shapes["conv_last.weight"][0]
    except (KeyError, ValueError) as missing:
        raise NotEsrgan(f"missing layer {missing}") from None
    blocks = len({key.split(".")[1] for key in shapes if key.startswith("body.")})
    upsamplings = len({key.split(".")[0] for key in shapes if key.startswith("conv_up")})
    if any(f"conv_up{n}.weight" not in shapes for n in range(1, upsamplings + 1)):
        raise NotEsrgan("the upsampling convolutions are not numbered 1..N")
    # Real-ESRGAN's x2 and x1 models fold 2x2 or 4x4 pixels into channels before the first
    # convolution, so that one network body (two 2x steps) serves every scale.
    unshuffle = {out_channels: 1, out_channels * 4: 2, out_channels * 16: 4}.get(first_in, 1)
    architecture = Architecture(
        features, growth, blocks, upsamplings, unshuffle, first_in // unshuffle**2, out_channels
    )
    if 2**upsamplings < unshuffle or blocks == 0:
        raise NotEsrgan(f"an architecture this loader does not run: {architecture}")
    if (architecture.in_channels, out_channels) != (3, 3):
        raise NotEsrgan(f"{architecture.in_channels} channels in, {out_channels} out: only RGB is run here")
    return architecture
