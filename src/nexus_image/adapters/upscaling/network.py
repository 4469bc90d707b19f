"""RRDBNet, the ESRGAN generator, and loading it from a `.pth` or `.safetensors` file.

The network (Wang et al., "ESRGAN", 2018): a first convolution; a trunk of residual-in-
residual dense blocks (each three dense blocks of five convolutions, every convolution seeing
all earlier outputs of its block, residuals scaled by 0.2) closed by one convolution and added
to the first's output; then per 2x step a nearest-neighbour enlargement and a convolution;
then two convolutions back to pixels. LeakyReLU(0.2) throughout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nexus_image.adapters.upscaling.layout import (
    Architecture,
    NotEsrgan,
    canonical,
    read_architecture,
    unwrap,
)

RESIDUAL_SCALE = 0.2
SLOPE = 0.2


def _conv(channels_in: int, channels_out: int) -> nn.Conv2d:
    return nn.Conv2d(channels_in, channels_out, 3, padding=1)


class DenseBlock(nn.Module):
    def __init__(self, features: int, growth: int) -> None:
        super().__init__()
        self.features, self.growth = features, growth
        self.conv1 = _conv(features, growth)
        self.conv2 = _conv(features + growth, growth)
        self.conv3 = _conv(features + 2 * growth, growth)
        self.conv4 = _conv(features + 3 * growth, growth)
        self.conv5 = _conv(features + 4 * growth, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # One buffer holds the input and every output so far, each convolution reading its
        # leading channels: no concatenation copies the growing stack four times over.
        features, growth = self.features, self.growth
        seen = x.new_empty(x.shape[0], features + 4 * growth, x.shape[2], x.shape[3])
        seen[:, :features] = x
        for k, conv in enumerate((self.conv1, self.conv2, self.conv3, self.conv4)):
            end = features + k * growth
            seen[:, end : end + growth] = F.leaky_relu(conv(seen[:, :end]), SLOPE)
        out: torch.Tensor = self.conv5(seen) * RESIDUAL_SCALE + x
        return out


class ResidualInResidual(nn.Module):
    def __init__(self, features: int, growth: int) -> None:
        super().__init__()
        self.rdb1 = DenseBlock(features, growth)
        self.rdb2 = DenseBlock(features, growth)
        self.rdb3 = DenseBlock(features, growth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.rdb3(self.rdb2(self.rdb1(x))) * RESIDUAL_SCALE + x
        return out


class RRDBNet(nn.Module):
    """Takes RGB in [0, 1], shaped (N, C, H, W); gives (N, C, H·scale, W·scale), not clamped."""

    def __init__(self, architecture: Architecture) -> None:
        super().__init__()
        a = architecture
        self.architecture = a
        self.conv_first = _conv(a.in_channels * a.unshuffle**2, a.features)
        self.body = nn.Sequential(*(ResidualInResidual(a.features, a.growth) for _ in range(a.blocks)))
        self.conv_body = _conv(a.features, a.features)
        self.upsampling = [_conv(a.features, a.features) for _ in range(a.upsamplings)]
        for n, conv in enumerate(self.upsampling, 1):
            self.add_module(f"conv_up{n}", conv)  # BasicSR's names: the weights load by them
        self.conv_hr = _conv(a.features, a.features)
        self.conv_last = _conv(a.features, a.out_channels)

    @property
    def scale(self) -> int:
        return self.architecture.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        fold = self.architecture.unshuffle
        if fold > 1:
            # Pixel-unshuffle needs sides divisible by its factor: extend the edge, crop later.
            x = F.pad(x, (0, -width % fold, 0, -height % fold), mode="replicate")
            x = F.pixel_unshuffle(x, fold)
        features = self.conv_first(x)
        features = features + self.conv_body(self.body(features))
        for conv in self.upsampling:
            features = F.leaky_relu(conv(F.interpolate(features, scale_factor=2, mode="nearest")), SLOPE)
        out: torch.Tensor = self.conv_last(F.leaky_relu(self.conv_hr(features), SLOPE))
        return out[..., : height * self.scale, : width * self.scale]


def read_state(path: Path) -> dict[str, Any]:
    """A file's tensors: `.safetensors`, or a `.pth` holding a state dict (loaded weights only,
    so a pickle cannot run code)."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path)))
    loaded = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(loaded, dict):
        raise NotEsrgan(f"{path.name} holds a {type(loaded).__name__}, not a state dict")
    return dict(unwrap(loaded))


def network_from_state(state: dict[str, Any]) -> RRDBNet:
    """The network a state dict describes, its weights loaded (every key must match)."""
    weights = canonical(unwrap(state))
    architecture = read_architecture({key: tuple(value.shape) for key, value in weights.items()})
    network = RRDBNet(architecture)
    try:
        network.load_state_dict(weights, strict=True)
    except RuntimeError as mismatch:
        raise NotEsrgan(str(mismatch).splitlines()[0]) from None
    return network.eval().requires_grad_(False)
