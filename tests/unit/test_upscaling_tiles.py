"""Tiling for the upscalers: every pixel covered, the network's input bounded, the feathered
weights summing to one (so tiles meet without a seam or a brightness step)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_image.adapters.upscaling.tiles import Span, axis_weights, plan

lengths = st.integers(min_value=1, max_value=1500)
tiles = st.integers(min_value=1, max_value=300)
overlaps = st.integers(min_value=0, max_value=48)


@settings(deadline=None)
@given(lengths, tiles, overlaps)
def test_cores_partition_the_axis_and_inputs_stay_bounded(length: int, tile: int, overlap: int) -> None:
    spans = plan(length, tile, overlap)

    assert spans[0].core_start == 0
    assert spans[-1].core_stop == length
    for before, after in itertools.pairwise(spans):
        assert before.core_stop == after.core_start
    for span in spans:
        assert span.stop - span.start <= tile + 2 * overlap
        assert 0 <= span.start <= span.core_start < span.core_stop <= span.stop <= length
        if len(spans) > 1:
            assert span.core_stop - span.core_start <= tile
            assert span.start == max(0, span.core_start - overlap)
            assert span.stop == min(length, span.core_stop + overlap)


@settings(deadline=None)  # pure-Python loops over up to 6000 pixels: no clock in this test
@given(
    st.integers(min_value=1, max_value=700),
    st.integers(min_value=1, max_value=200),
    overlaps,
    st.sampled_from([1, 2, 4]),
)
def test_weights_of_each_output_pixel_sum_to_one(length: int, tile: int, overlap: int, scale: int) -> None:
    spans = plan(length, tile, overlap)
    weights = axis_weights(spans, scale, overlap)
    total = [0.0] * (length * scale)

    for span, row in zip(spans, weights, strict=True):
        assert len(row) == (span.stop - span.start) * scale
        assert all(0 < w <= 1 for w in row)
        for offset, w in enumerate(row):
            total[span.start * scale + offset] += w

    assert all(abs(t - 1) < 1e-9 for t in total)


def test_one_tile_when_the_axis_fits_tile_and_context() -> None:
    assert plan(192, 128, 32) == [Span(0, 192, 0, 192)]
    assert len(plan(193, 128, 32)) == 2


def test_the_band_between_two_tiles_is_a_linear_cross_fade() -> None:
    spans = plan(200, 100, 10)  # cores [0, 100) and [100, 200); band [90, 110)
    left, right = axis_weights(spans, 1, 10)

    assert spans == [Span(0, 110, 0, 100), Span(90, 200, 100, 200)]
    assert left[:90] == [1.0] * 90 and right[20:] == [1.0] * 90  # outside the band: one tile
    fade = [right[x - 90] for x in range(90, 110)]
    assert fade == pytest.approx([(x - 90 + 0.5) / 20 for x in range(90, 110)])
    assert fade == sorted(fade)  # rising from the tile's own edge, where it saw the least context


def test_impossible_tilings_are_refused() -> None:
    for length, tile, overlap in ((0, 10, 0), (10, 0, 0), (10, 10, -1)):
        with pytest.raises(ValueError, match="cannot tile"):
            plan(length, tile, overlap)
