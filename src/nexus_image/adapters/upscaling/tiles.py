"""Cutting an image into overlapping tiles and feathering them back together (pure Python).

Along each axis the image is cut into `n` near-equal cores of at most `tile` pixels; each is
run with up to `overlap` pixels of context on both sides, so the network never sees more than
`tile + 2·overlap` pixels a side. Where two tiles meet, the band `core edge ± overlap` is a
cross-fade: each tile's weight rises linearly from its own edge, where the network saw the
least context, and the weights are normalised to sum to one. A pixel outside every band comes
from one tile alone, unchanged. Weights are per axis, so a 2-D tile's weight is the product of
its row's and its column's, and the products sum to one as well."""

from __future__ import annotations

import itertools
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """One tile along an axis: the pixels it is run on, [start, stop), and its core."""

    start: int
    stop: int
    core_start: int
    core_stop: int


def plan(length: int, tile: int, overlap: int) -> list[Span]:
    """The tiles along an axis of `length` pixels (one when it fits in `tile + 2·overlap`)."""
    if length < 1 or tile < 1 or overlap < 0:
        raise ValueError(f"cannot tile {length} pixels by {tile} with overlap {overlap}")
    if length <= tile + 2 * overlap:
        return [Span(0, length, 0, length)]
    count = -(-length // tile)
    edges = [i * length // count for i in range(count + 1)]
    return [
        Span(max(0, begin - overlap), min(length, end + overlap), begin, end)
        for begin, end in itertools.pairwise(edges)
    ]


def axis_weights(spans: list[Span], scale: int, overlap: int) -> list[list[float]]:
    """Each tile's weight for each of its output pixels (`scale` per input pixel), normalised
    so that the tiles covering an output pixel weigh one together."""
    last = len(spans) - 1
    raw: list[list[float]] = []
    for index, span in enumerate(spans):
        weights = []
        for pixel in range(span.start * scale, span.stop * scale):
            centre = (pixel + 0.5) / scale  # in input pixels, strictly inside the span
            weight = 1.0
            if overlap and index > 0:
                weight = min(weight, (centre - span.start) / (2 * overlap))
            if overlap and index < last:
                weight = min(weight, (span.stop - centre) / (2 * overlap))
            weights.append(weight)
        raw.append(weights)
    total = [0.0] * (spans[-1].stop * scale)
    for span, weights in zip(spans, raw, strict=True):
        for offset, weight in enumerate(weights):
            total[span.start * scale + offset] += weight
    return [
        [weight / total[span.start * scale + offset] for offset, weight in enumerate(weights)]
        for span, weights in zip(spans, raw, strict=True)
    ]
