"""The domain rules of starting images, masks, strengths, LoRA adapters and per-mode prices,
as properties over their whole input ranges; the batch key keeps apart what cannot run
together; the upload allowance; the upload decoder's checks before and after decoding."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from nexus_image.adapters.filesystem.loras import LoraFolder
from nexus_image.adapters.imaging import PillowDecoder
from nexus_image.domain.errors import InvalidImage, InvalidValue
from nexus_image.domain.parameters import (
    DEFAULT_STRENGTH,
    GenerationParameters,
    LoraWeight,
    Mode,
)
from nexus_image.domain.resolution import TOKEN_COSTS, Pricing, Resolution
from nexus_image.domain.upload import UploadAllowance, UploadQuotaExceeded


def validate_source(
    init: str | None, mask: str | None, strength: float | None, steps: int
) -> tuple[str | None, str | None, float | None]:
    """The starting image's fields as the one declaration checks them."""
    p = GenerationParameters.create(
        prompt="x", seed=1, steps=steps, init_image_id=init, mask_image_id=mask, strength=strength
    )
    return p.init_image_id, p.mask_image_id, p.strength


def validate_loras(loras: list[LoraWeight]) -> tuple[LoraWeight, ...]:
    return GenerationParameters.create(prompt="x", seed=1, loras=loras).loras


ids = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)


@given(init=ids, strength=st.floats(0.0, 1.5, allow_nan=False), steps=st.integers(1, 100))
def test_a_strength_is_taken_exactly_when_it_leaves_a_step_to_run(
    init: str, strength: float, steps: int
) -> None:
    ok = 0 < strength <= 1 and int(steps * strength) >= 1
    if ok:
        assert validate_source(init, None, strength, steps) == (init, None, strength)
    else:
        with pytest.raises(InvalidValue) as refused:
            validate_source(init, None, strength, steps)
        assert refused.value.field == "strength"


@given(mask=ids, strength=st.none() | st.floats(0.01, 1))
def test_a_mask_or_a_strength_without_a_starting_image_is_refused(mask: str, strength: float | None) -> None:
    with pytest.raises(InvalidValue) as refused:
        validate_source(None, mask, strength, 30)
    assert refused.value.field == "mask_image_id"
    if strength is not None:
        with pytest.raises(InvalidValue, match="strength"):
            validate_source(None, None, strength, 30)
    assert validate_source(None, None, None, 30) == (None, None, None)


@given(st.text(min_size=1, max_size=80))
def test_an_upload_id_is_letters_digits_dash_and_underscore(value: str) -> None:
    good = all(c.isascii() and (c.isalnum() or c in "-_") for c in value) and len(value) <= 64
    if good:
        assert validate_source(value, None, None, 30)[0] == value
    else:
        with pytest.raises(InvalidValue):
            validate_source(value, None, None, 30)


def test_the_mode_follows_the_sources_and_the_default_strength_is_a1111s() -> None:
    plain = GenerationParameters.create(prompt="a fox", seed=1)
    repaint = GenerationParameters.create(prompt="a fox", seed=1, init_image_id="a")
    masked = GenerationParameters.create(prompt="a fox", seed=1, init_image_id="a", mask_image_id="b")
    assert (plain.mode, repaint.mode, masked.mode) == (Mode.TXT2IMG, Mode.IMG2IMG, Mode.INPAINT)
    assert (plain.strength, repaint.strength) == (None, DEFAULT_STRENGTH)
    with pytest.raises(InvalidValue) as refused:
        GenerationParameters.create(
            prompt="a fox", seed=1, init_image_id="a", variation_seed=2, variation_strength=0.5
        )
    assert refused.value.field == "variation_seed"


@given(st.lists(st.tuples(names, st.floats(-1, 3, allow_nan=False)), max_size=5))
def test_loras_are_at_most_three_distinct_names_weighted_0_to_2(chosen: list[tuple[str, float]]) -> None:
    loras = [LoraWeight(name, weight) for name, weight in chosen]
    ok = (
        len(loras) <= 3 and len({n for n, _ in chosen}) == len(chosen) and all(0 <= w <= 2 for _, w in chosen)
    )
    if ok:
        assert validate_loras(loras) == tuple(loras)
    else:
        with pytest.raises(InvalidValue) as refused:
            validate_loras(loras)
        assert refused.value.field == "loras"


@given(st.sampled_from(["../x", "a/b", "", ".hidden", "x" * 101, "a b", "é"]))
def test_a_lora_name_cannot_leave_the_folder(name: str) -> None:
    with pytest.raises(InvalidValue):
        validate_loras([LoraWeight(name)])


@given(
    a=st.tuples(
        st.sampled_from(list(Mode)),
        st.floats(0.05, 1),
        st.lists(st.tuples(names, st.floats(0, 2)), max_size=2),
    ),
    b=st.tuples(
        st.sampled_from(list(Mode)),
        st.floats(0.05, 1),
        st.lists(st.tuples(names, st.floats(0, 2)), max_size=2),
    ),
)
def test_only_the_same_mode_strength_and_adapters_share_a_batch(a: tuple, b: tuple) -> None:  # type: ignore[type-arg]
    def params(mode: Mode, strength: float, loras: list[tuple[str, float]]) -> GenerationParameters:
        init = None if mode is Mode.TXT2IMG else "start"
        mask = "mask" if mode is Mode.INPAINT else None
        unique = list(dict(loras).items())
        return GenerationParameters.create(
            prompt="a fox", seed=1, init_image_id=init, mask_image_id=mask,
            strength=strength if init else None, loras=[LoraWeight(n, w) for n, w in unique],
        )  # fmt: skip

    first, second = params(*a), params(*b)
    same = (
        first.mode == second.mode
        and first.strength == second.strength
        and sorted((x.name, x.weight) for x in first.loras)
        == sorted((x.name, x.weight) for x in second.loras)
    )
    assert (first.batch_key() == second.batch_key()) == same


@given(st.sampled_from(list(Resolution)), st.integers(1, 100))
def test_a_price_table_sets_what_it_names_and_leaves_the_rest_as_text_to_image(
    resolution: Resolution, cost: int
) -> None:
    pricing = Pricing.parse(f"{resolution.value}={cost}", "")
    assert pricing.cost(resolution, "img2img") == cost
    assert (
        pricing.cost(resolution, "inpaint") == TOKEN_COSTS[resolution] == pricing.cost(resolution, "txt2img")
    )
    others = [r for r in Resolution if r is not resolution]
    assert all(pricing.cost(r, "img2img") == TOKEN_COSTS[r] for r in others)
    assert pricing.table()["img2img"][resolution.value] == cost


@pytest.mark.parametrize("text", ["512x512", "512x512=-1", "512x512=0", "640x640=5", "512x512=five", "=3"])
def test_a_bad_price_table_is_refused(text: str) -> None:
    with pytest.raises(InvalidValue):
        Pricing.parse(text)


@given(st.integers(0, 5), st.integers(0, 2000), st.integers(1, 1000))
def test_the_allowance_refuses_exactly_what_would_overfill_it(count: int, used: int, size: int) -> None:
    allowance = UploadAllowance(max_count=3, max_bytes=1500)
    if count + 1 <= 3 and used + size <= 1500:
        allowance.require_room(count, used, size)
    else:
        with pytest.raises(UploadQuotaExceeded):
            allowance.require_room(count, used, size)


def image(size: tuple[int, int], fmt: str = "PNG", mode: str = "RGB", **save: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (255, 0, 0) if mode == "RGB" else None).save(out, format=fmt, **save)
    return out.getvalue()


def test_the_decoder_reads_the_header_first_and_keeps_a_plain_png() -> None:
    decoder = PillowDecoder()
    found = decoder.inspect(image((30, 20), "WEBP"), 2048)
    assert (found.width, found.height, found.source_format) == (30, 20, "webp")
    assert Image.open(io.BytesIO(found.png)).mode == "RGB"
    with pytest.raises(InvalidImage, match="2048"):
        decoder.inspect(image((2049, 8)), 2048)
    with pytest.raises(InvalidImage, match="not a PNG"):
        decoder.inspect(image((8, 8), "GIF"), 2048)
    transparent = PillowDecoder().inspect(image((4, 4), mode="RGBA"), 2048)
    assert Image.open(io.BytesIO(transparent.png)).getpixel((0, 0)) == (0, 0, 0)  # transparent: black


def test_the_decoder_fits_a_stored_upload_to_the_job_keeping_the_aspect_ratio() -> None:
    picture = Image.new("RGB", (200, 100), (0, 0, 255))
    picture.paste((255, 0, 0), (0, 0, 30, 100))  # a red band at the left edge
    out = io.BytesIO()
    picture.save(out, format="PNG")
    raw = PillowDecoder().decode(out.getvalue(), 64, 64)
    assert (raw.width, raw.height, len(raw.pixels)) == (64, 64, 64 * 64 * 3)
    assert raw.pixels[:3] == b"\x00\x00\xff"  # the centre kept, the left band cropped away


def test_the_lora_folder_lists_only_valid_safetensors_names(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in (
        "b-style.safetensors",
        "a_detail.safetensors",
        "bad name.safetensors",
        "x.ckpt",
        ".hidden.safetensors",
    ):
        (tmp_path / name).write_bytes(b"1234")
    (tmp_path / "dir.safetensors").mkdir()
    assert [(f.name, f.size) for f in LoraFolder(tmp_path).available()] == [("a_detail", 4), ("b-style", 4)]
    assert LoraFolder(None).available() == [] == LoraFolder(tmp_path / "missing").available()


def test_a_jpeg_of_too_many_scans_is_refused_before_decoding() -> None:
    jpeg = image((64, 64), "JPEG", progressive=True)
    scan = b"\xff\xda\x00\x08\x01\x03\x01\x01\x3f\x01\x00\x01"
    flood = jpeg[:-2] + scan * 101 + jpeg[-2:]
    with pytest.raises(InvalidImage, match="scans"):
        PillowDecoder().inspect(flood, 2048)
    assert PillowDecoder().inspect(jpeg, 2048).source_format == "jpeg"  # a normal progressive one


def test_16_bit_greys_are_scaled_and_a_colour_key_is_transparent() -> None:
    import numpy as np

    for value, expected in ((32768, 127), (1000, 3), (65535, 255)):
        out = io.BytesIO()
        Image.fromarray(np.full((8, 8), value, dtype=np.uint16)).save(out, format="PNG")
        found = PillowDecoder().inspect(out.getvalue(), 2048)
        assert Image.open(io.BytesIO(found.png)).getpixel((0, 0)) == (expected,) * 3
    keyed = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(keyed, format="PNG", transparency=(10, 20, 30))
    found = PillowDecoder().inspect(keyed.getvalue(), 2048)
    assert Image.open(io.BytesIO(found.png)).getpixel((0, 0)) == (0, 0, 0)
