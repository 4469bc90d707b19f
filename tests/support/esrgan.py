"""ESRGAN (RRDBNet) state dicts for tests, written from the architecture's description in each
of its three key layouts: names and shapes here, random tensors in `random_state`."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

Shapes = dict[str, tuple[int, ...]]


def esrgan_shapes(
    layout: str = "basicsr",
    features: int = 16,
    growth: int = 8,
    blocks: int = 2,
    upsamplings: int = 2,
    first_in: int = 3,
    out: int = 3,
) -> Shapes:
    """`layout`: "basicsr" (Real-ESRGAN), "bsrgan" (BSRGAN/RealSR) or "esrgan" (the original,
    a flattened nn.Sequential)."""

    def conv(name: str, channels_in: int, channels_out: int) -> Shapes:
        return {f"{name}.weight": (channels_out, channels_in, 3, 3), f"{name}.bias": (channels_out,)}

    block, rdb = {
        "basicsr": ("body", "rdb"),
        "bsrgan": ("RRDB_trunk", "RDB"),
        "esrgan": ("model.1.sub", "RDB"),
    }[layout]
    shapes: Shapes = {}
    for i in range(blocks):
        for j in (1, 2, 3):
            for k in range(1, 6):
                name = f"{block}.{i}.{rdb}{j}.conv{k}" + (".0" if layout == "esrgan" else "")
                shapes |= conv(name, features + (k - 1) * growth, growth if k < 5 else features)
    if layout == "esrgan":
        ups = [f"model.{3 * n}" for n in range(1, upsamplings + 1)]
        hr, last = 3 * upsamplings + 2, 3 * upsamplings + 4
        named = ["model.0", f"model.1.sub.{blocks}", *ups, f"model.{hr}", f"model.{last}"]
    else:
        up = "conv_up" if layout == "basicsr" else "upconv"
        trunk, high = ("conv_body", "conv_hr") if layout == "basicsr" else ("trunk_conv", "HRconv")
        named = ["conv_first", trunk, *(f"{up}{n}" for n in range(1, upsamplings + 1)), high, "conv_last"]
    shapes |= conv(named[0], first_in, features)
    for name in named[1:-1]:
        shapes |= conv(name, features, features)
    shapes |= conv(named[-1], features, out)
    return shapes


def write_header_only(path: Path, shapes: Shapes) -> Path:
    """A safetensors file with these shapes, every tensor zero (no torch needed)."""
    header: dict[str, Any] = {}
    offset = 0
    for name, shape in shapes.items():
        size = 4
        for side in shape:
            size *= side
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + bytes(offset))
    return path


def random_state(shapes: Shapes, seed: int = 0) -> dict[str, Any]:
    """Random weights at a scale that keeps a deep trunk's activations in range, and a last
    bias of one half, so the picture is neither black nor white."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in shapes.items():
        fan_in = shape[1] * 9 if len(shape) == 4 else 1
        state[name] = (torch.rand(shape, generator=generator) * 2 - 1) * (1.5 / fan_in) ** 0.5
        if len(shape) == 1:
            state[name] = state[name] * 0.1
    last = max((n for n in shapes if n.endswith(".bias")), key=lambda n: _order(n, shapes))
    state[last] = state[last] + 0.5
    return state


def _order(name: str, shapes: Shapes) -> int:
    """The position of a layer in the network: the last one is `conv_last` or the highest `model.N`."""
    if name.startswith("conv_last"):
        return 10**6
    parts = name.split(".")
    return int(parts[1]) if parts[0] == "model" and parts[2] in ("weight", "bias") else -1
