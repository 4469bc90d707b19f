"""Generation parameters read back from PNG text: AUTOMATIC1111's `parameters` text (old and
new sampler spellings, quoted values, several prompt lines, settings we lack) and ours (JSON),
with a property over every request we could have written; and the chunk walker that never
decodes pixels (compressed text inflated up to a bound, truncated or foreign files refused)."""

from __future__ import annotations

import io
import json
import struct
import zlib
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from nexus_image.adapters.imaging.png_text import MAX_TEXT, PARAMETER_KEYS, NotAPng, png_text
from nexus_image.domain.parameters import A1111_SAMPLERS as SAMPLERS
from nexus_image.domain.parameters import DEFAULT_SCHEDULER, GenerationParameters, Scheduler
from nexus_image.domain.png_parameters import automatic1111, read_parameters
from nexus_image.domain.resolution import Resolution
from nexus_image.domain.styles import Style

A1111 = """masterpiece, a lighthouse at dusk,
 dramatic clouds
Negative prompt: blurry, lowres
extra fingers
Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 3141592, Size: 768x768, \
Model hash: 6ce0161689, Model: v1-5-pruned, Lora hashes: "detail: 1a2b, light: 3c4d", \
Variation seed: 77, Variation seed strength: 0.25, Version: v1.10.1"""


def test_a1111_text_gives_the_fields_of_a_generate_request() -> None:
    found = automatic1111(A1111)
    assert found is not None and found.source == "automatic1111"
    assert found.parameters == {
        "prompt": "masterpiece, a lighthouse at dusk,\n dramatic clouds",
        "negative_prompt": "blurry, lowres\nextra fingers",
        "steps": 28,
        "guidance": 6.5,
        "seed": 3141592,
        "resolution": "768x768",
        "scheduler": "dpmpp_2m_karras",
        "variation_seed": 77,
        "variation_strength": 0.25,
        "style": "realistic",
    }
    assert found.unsupported == {
        "Model hash": "6ce0161689",
        "Model": "v1-5-pruned",
        "Lora hashes": "detail: 1a2b, light: 3c4d",
        "Version": "v1.10.1",
    }


@pytest.mark.parametrize(
    ("settings", "parameters", "unsupported"),
    [
        ("Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 5", {"scheduler": "dpmpp_2m_karras"}, {}),
        ("Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: -1", {"scheduler": "euler_a"}, {}),
        ("Steps: 20, Sampler: LMS, CFG scale: 7, Size: 640x448", {}, {"Sampler": "LMS", "Size": "640x448"}),
        ("Steps: 150, Sampler: DDIM, CFG scale: 30, Seed: 1", {"scheduler": "ddim", "seed": 1}, {"Steps": "150", "CFG scale": "30"}),
    ],
)  # fmt: skip
def test_settings_we_have_are_mapped_and_the_rest_reported(
    settings: str, parameters: dict[str, object], unsupported: dict[str, str]
) -> None:
    found = automatic1111(f"a cat\n{settings}")
    assert found is not None
    assert parameters.items() <= found.parameters.items()
    assert found.unsupported == unsupported
    assert "seed" not in found.parameters or found.parameters["seed"] != -1


def test_a_prompt_alone_is_read_and_an_empty_one_is_nothing() -> None:
    found = automatic1111("just a prompt: with a colon")
    assert found is not None and found.parameters == {
        "prompt": "just a prompt: with a colon",
        "style": "realistic",
    }
    assert automatic1111("\n  \n") is None
    assert read_parameters({"Software": "GIMP"}) is None


def a1111_text(p: GenerationParameters) -> str:
    sampler = next(name for name, scheduler in SAMPLERS.items() if scheduler is p.scheduler)
    lines = [p.prompt]
    if p.negative_prompt:
        lines.append(f"Negative prompt: {p.negative_prompt}")
    lines.append(
        f"Steps: {p.steps}, Sampler: {sampler}, CFG scale: {p.guidance}, Seed: {p.seed}, "
        f"Size: {p.resolution.value}, Model: tiny"
    )
    return "\n".join(lines)


words = st.text(alphabet="abcdefghij ,.!", min_size=1, max_size=40).filter(lambda t: t.strip(" ,.!"))
parameters = st.builds(
    GenerationParameters.create,
    prompt=words,
    negative_prompt=st.one_of(st.just(""), words),
    seed=st.integers(0, 2**32 - 1),
    resolution=st.sampled_from(list(Resolution)),
    steps=st.integers(1, 100),
    guidance=st.floats(1, 20).map(lambda g: round(g, 1)),
    scheduler=st.sampled_from(list(Scheduler)),
)


@given(parameters)
def test_any_request_written_the_a1111_way_reads_back_the_same(p: GenerationParameters) -> None:
    found = automatic1111(a1111_text(p))
    assert found is not None
    got = found.parameters
    assert got["prompt"] == p.prompt and got.get("negative_prompt", "") == p.negative_prompt
    assert (got["seed"], got["steps"], got["guidance"]) == (p.seed, p.steps, p.guidance)
    assert (got["resolution"], got["scheduler"]) == (p.resolution.value, p.scheduler.value)


@given(parameters)
def test_our_own_json_reads_back_as_sent(p: GenerationParameters) -> None:
    text = json.dumps({**p.to_dict(), "model": "tiny"})
    found = read_parameters({"parameters": text})
    assert found is not None and found.source == "nexus-image"
    sent = {k: v for k, v in p.to_dict().items() if v not in (None, []) and k != "variation_strength"}
    sent["model"] = "tiny"  # the model that drew it: asked for again by a remix
    assert found.parameters == sent and found.unsupported == {}
    rebuilt = GenerationParameters.create(**{**found.parameters, "style": Style(found.parameters["style"]),
                                             "resolution": Resolution(found.parameters["resolution"]),
                                             "scheduler": Scheduler(found.parameters["scheduler"])})  # fmt: skip
    assert rebuilt == replace(p, model="tiny")
    assert DEFAULT_SCHEDULER in Scheduler


def test_an_older_pngs_model_description_is_unsupported_not_asked_for() -> None:
    text = json.dumps(
        {"prompt": "a kite", "seed": 3, "model": "tiny-sd15-random (noise: no real model configured)"}
    )
    found = read_parameters({"parameters": text})
    assert found is not None and "model" not in found.parameters
    assert found.unsupported == {"model": "tiny-sd15-random (noise: no real model configured)"}


def png(**text: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_itxt(key, value, zip=len(value) > 20)
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_text_chunks_of_every_kind_are_read() -> None:
    data = png(parameters="a very long prompt that gets compressed", title="short")
    assert png_text(data) == {"parameters": "a very long prompt that gets compressed", "title": "short"}
    signature, rest = data[:8], data[8:]
    extra = chunk(b"tEXt", b"Comment\x00caf\xe9") + chunk(b"zTXt", b"Note\x00\x00" + zlib.compress(b"zipped"))
    assert png_text(signature + extra + rest) == {
        "Comment": "café", "Note": "zipped", "parameters": "a very long prompt that gets compressed",
        "title": "short",
    }  # fmt: skip


def test_a_text_bomb_is_cut_and_a_huge_canvas_is_never_decoded() -> None:
    header = struct.pack(">IIBBBBB", 60_000, 60_000, 8, 2, 0, 0, 0)  # 10.8 GB of pixels, declared
    bomb = zlib.compress(b"A" * (200 * 1024 * 1024), 9)  # 200 MB of text in about 200 KB
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"zTXt", b"parameters\x00\x00" + bomb)
    data += chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b"")
    assert len(png_text(data)["parameters"]) == MAX_TEXT


@pytest.mark.parametrize(
    "data",
    [b"GIF89a....", b"", png()[:-6], b"\x89PNG\r\n\x1a\n" + chunk(b"zTXt", b"k\x00\x00not zlib") + chunk(b"IEND", b"")],
    ids=["another format", "empty", "truncated", "corrupt compressed text"],
)  # fmt: skip
def test_what_is_not_a_whole_png_is_refused(data: bytes) -> None:
    with pytest.raises(NotAPng):
        png_text(data)


@pytest.mark.timeout(20)
def test_a_very_long_settings_line_is_read_in_linear_time() -> None:
    """Quadratic matching took 44 s on 80,000 characters; this is 60,000 and a few settings."""
    line = "a" * 60_000 + ", Steps: 20, Sampler: Euler, CFG scale: 7"
    found = automatic1111(f"a cat\n{line}")
    assert found is not None and found.parameters["steps"] == 20


def test_text_too_long_or_too_deep_or_with_huge_numbers_is_read_safely() -> None:
    assert read_parameters({"parameters": "x" * (64 * 1024 + 1)}) is None
    nested = read_parameters({"parameters": "[" * 100_000 + "]" * 100_000})
    assert nested is None or nested.source == "automatic1111"  # not JSON we read, never an error
    found = automatic1111("a cat\nSteps: " + "9" * 5000 + ", Sampler: Euler, CFG scale: 7")
    assert found is not None and "steps" not in found.parameters and found.unsupported["Steps"] == "9" * 5000


def test_only_the_parameters_chunk_is_inflated() -> None:
    many = b"".join(
        chunk(b"zTXt", f"k{n}".encode() + b"\x00\x00" + zlib.compress(b"A" * 2**20)) for n in range(50)
    )
    data = png(parameters="a fox")
    data = data[:8] + many + data[8:]
    assert png_text(data, PARAMETER_KEYS) == {"parameters": "a fox"}
    assert len(png_text(data)) == 51  # without the filter every chunk is read


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    return []


@given(
    prompt=st.text(st.characters(codec="utf-8"), min_size=1, max_size=40).map(lambda t: t + "\x00x"),
    negative=st.text(st.characters(codec="utf-8"), max_size=20),
    ours=st.booleans(),
)
def test_what_is_read_back_never_carries_nul_which_generate_refuses(
    prompt: str, negative: str, ours: bool
) -> None:
    if ours:
        text = json.dumps(
            {"prompt": prompt, "negative_prompt": negative + "\x00", "seed": 3, "odd\x00": "a\x00"}
        )
    else:
        text = (
            f"{prompt}\nNegative prompt: {negative}\x00\nSteps: 20, Seed: 3, Sampler: Euler a, Odd\x00: b\x00"
        )
    found = read_parameters({"parameters": text})
    if found is not None:
        assert not [s for s in _strings(found.parameters) + _strings(found.unsupported) if "\x00" in s]
