"""Running a network over an image tile by tile, its outputs feathered together.

The network sees one tile at a time (memory on the device is bounded by the tile); the
blended result is kept in float only for one strip of tile rows and whatever the next strip
still overlaps, and written out as 8-bit rows as soon as no later tile touches them."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nexus_image.adapters.upscaling.tiles import axis_weights, plan


def _to_bytes(values: torch.Tensor) -> np.ndarray:
    """(3, H, W) floats in [0, 1] to (H, W, 3) bytes."""
    return (values.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


@torch.inference_mode()
def run_tiled(
    network: nn.Module,
    image: np.ndarray,
    scale: int,
    tile: int,
    overlap: int,
    device: torch.device,
    dtype: torch.dtype,
) -> np.ndarray:
    """`image` (H, W, 3) bytes through `network` (an RGB, `scale`x network), (H·s, W·s, 3) out."""
    height, width = image.shape[:2]
    rows, columns = plan(height, tile, overlap), plan(width, tile, overlap)
    row_weights = [torch.tensor(w) for w in axis_weights(rows, scale, overlap)]
    column_weights = [torch.tensor(w) for w in axis_weights(columns, scale, overlap)]
    out = np.empty((height * scale, width * scale, 3), dtype=np.uint8)
    carried: torch.Tensor | None = None  # the rows of earlier strips the next one overlaps
    for r, row in enumerate(rows):
        top = row.start * scale
        strip = torch.zeros(3, (row.stop - row.start) * scale, width * scale)
        if carried is not None:
            strip[:, : carried.shape[1]] += carried
        for c, column in enumerate(columns):
            # A copy: the tile may be a view of read-only bytes, which torch will not wrap.
            piece = image[row.start : row.stop, column.start : column.stop].copy()
            pixels = torch.from_numpy(piece).permute(2, 0, 1)[None].to(device, dtype) / 255
            result = network(pixels)[0].float().clamp(0, 1).cpu()
            weight = row_weights[r][:, None] * column_weights[c][None, :]
            strip[:, :, column.start * scale : column.stop * scale] += result * weight
        done = (rows[r + 1].start * scale if r + 1 < len(rows) else height * scale) - top
        out[top : top + done] = _to_bytes(strip[:, :done])
        carried = strip[:, done:]
    return out
