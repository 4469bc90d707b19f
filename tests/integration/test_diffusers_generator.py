"""The real diffusers code path on a tiny SD-1.5-shaped pipeline loaded from disk."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from nexus_image.adapters.diffusers import DiffusersGenerator, GeneratorOptions
from nexus_image.adapters.diffusers.loading import ModelLoadError, resolve_source
from nexus_image.adapters.imaging import read_png_metadata
from nexus_image.adapters.memory import InMemoryQueue
from nexus_image.application import GenerateImage, GenerationInterrupted
from nexus_image.application.ports import RenderSpec
from nexus_image.testing import FixedSeeds, InMemoryStorage, ManualClock, MemoryStore, SequentialIds
from tests.support.driver import memory_service
from tests.support.specs import render_spec

pytestmark = pytest.mark.integration


def spec(
    seed: int = 42, width: int = 512, height: int = 512, steps: int = 4, prompt: str = "a castle"
) -> RenderSpec:
    return render_spec(prompt, "blurry", width, height, seed, steps)


@pytest.fixture(scope="module")
def generator(tiny_folder: Path, model_cache: Path) -> DiffusersGenerator:
    gen = DiffusersGenerator(GeneratorOptions(model=str(tiny_folder), cache_dir=model_cache, threads=2))
    gen.load()
    return gen


def keep_going(step: int, total: int) -> bool:
    return True


@pytest.mark.parametrize(("width", "height"), [(512, 512), (768, 768)])
def test_renders_the_asked_size(generator: DiffusersGenerator, width: int, height: int) -> None:
    image = generator.generate(spec(width=width, height=height), keep_going)
    assert (image.width, image.height) == (width, height)
    assert len(image.pixels) == width * height * 3
    assert len(set(image.pixels[:3000])) > 10  # not a flat colour


def test_same_seed_same_bytes_other_seed_other_bytes(generator: DiffusersGenerator) -> None:
    first = generator.generate(spec(seed=7), keep_going)
    again = generator.generate(spec(seed=7), keep_going)
    other = generator.generate(spec(seed=8), keep_going)
    assert first.pixels == again.pixels
    assert first.pixels != other.pixels


def test_progress_is_reported_every_step(generator: DiffusersGenerator) -> None:
    steps: list[tuple[int, int]] = []

    def record(step: int, total: int) -> bool:
        steps.append((step, total))
        return True

    generator.generate(spec(steps=6), record)
    assert steps == [(i, 6) for i in range(1, 7)]


def test_cancellation_stops_mid_run_and_pipeline_stays_usable(generator: DiffusersGenerator) -> None:
    seen: list[int] = []

    def stop_after_two(step: int, total: int) -> bool:
        seen.append(step)
        return step < 2

    with pytest.raises(GenerationInterrupted):
        generator.generate(spec(steps=10), stop_after_two)
    assert seen == [1, 2]
    assert (
        generator.generate(spec(seed=7), keep_going).pixels
        == generator.generate(spec(seed=7), keep_going).pixels
    )


def test_schedulers_swap(generator: DiffusersGenerator) -> None:
    images = {
        name: generator.generate(render_spec("a", "", 512, 512, 1, 3, 7.0, name), keep_going).pixels
        for name in ("euler", "euler_a", "ddim", "unipc", "pndm", "dpmpp_2m")
    }
    assert len(set(images.values())) >= 4


def test_batch_keeps_each_seed(generator: DiffusersGenerator) -> None:
    single = generator.generate(spec(seed=3, prompt="a cat"), keep_going)
    batch = generator.generate_batch([spec(seed=3, prompt="a cat"), spec(seed=4, prompt="a dog")], keep_going)
    assert len(batch) == 2 and batch[0].pixels != batch[1].pixels
    diff = max(abs(a - b) for a, b in zip(single.pixels, batch[0].pixels, strict=True))
    assert diff <= 3  # batched maths differ in the last bit, not in content


def test_use_case_end_to_end_embeds_parameters(generator: DiffusersGenerator) -> None:
    store, storage, queue = MemoryStore(), InMemoryStorage(), InMemoryQueue()
    service = memory_service(
        50,
        uow_factory=store.unit_of_work,
        storage=storage,
        clock=ManualClock(),
        ids=SequentialIds(),
        seeds=FixedSeeds(),
        in_process_queue=queue,
        generator=generator,
    )
    job = service.request_generation(
        GenerateImage(
            user_id="u", prompt="a lighthouse", style="anime", resolution="768x768", seed=11, steps=3
        )
    )
    service.relay.drain()
    assert service.process(job.id).status == "COMPLETED"
    png, _ = service.images.content("u", job.id)
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (768, 768)
    meta = read_png_metadata(png)
    assert meta["seed"] == "11" and meta["style"] == "anime" and meta["model"] == str(generator.options.model)
    assert meta["styled_prompt"].startswith("anime artwork, a lighthouse")


def test_bad_model_locations_are_refused_clearly(tmp_path: Path, model_cache: Path) -> None:
    with pytest.raises(ModelLoadError, match="model_index.json"):
        resolve_source(str(tmp_path), model_cache)
    with pytest.raises(ModelLoadError, match="does not exist"):
        resolve_source(str(tmp_path / "missing.safetensors"), model_cache)
    assert resolve_source("runwayml/stable-diffusion-v1-5", model_cache) == (
        "hub",
        "runwayml/stable-diffusion-v1-5",
    )


def test_single_file_checkpoint_generates_like_its_folder(
    generator: DiffusersGenerator, tiny_folder: Path, model_cache: Path, tmp_path: Path
) -> None:
    from nexus_image.adapters.diffusers.single_file import export_single_file

    checkpoint = export_single_file(tiny_folder, tmp_path / "tiny.safetensors")
    single = DiffusersGenerator(
        GeneratorOptions(
            model=str(checkpoint), model_config=str(tiny_folder), cache_dir=model_cache, threads=2
        )
    )
    assert (
        single.generate(spec(seed=5), keep_going).pixels
        == generator.generate(spec(seed=5), keep_going).pixels
    )
    # Without a config folder the configs are derived from the checkpoint itself.
    no_config = DiffusersGenerator(GeneratorOptions(model=str(checkpoint), cache_dir=model_cache, threads=2))
    assert (
        no_config.generate(spec(seed=5), keep_going).pixels
        == generator.generate(spec(seed=5), keep_going).pixels
    )


def test_placement_follows_configuration() -> None:
    from nexus_image.adapters.diffusers.device import choose_placement

    auto = choose_placement(device="cpu", threads=2)
    assert auto.device == "cpu"
    assert auto.dtype_name in {"bfloat16", "float32"}
    assert choose_placement(device="cpu", dtype="float32", threads=1, low_memory=True).low_memory
    assert (
        choose_placement(device="cuda", dtype="float16", threads=1, low_memory=False).dtype_name == "float16"
    )


def test_cli_generate_in_process(
    tiny_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nexus_image.entrypoints.cli import main

    monkeypatch.setenv("NEXUS_IMAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NEXUS_IMAGE_MODEL", str(tiny_folder))
    out = tmp_path / "out" / "fox.png"
    code = main(
        ["generate", "a fox", "--seed", "3", "--steps", "2", "--scheduler", "euler", "--out", str(out)]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "generating [" in captured.err
    assert "2/2" in captured.err
    with Image.open(out) as image:
        assert image.size == (512, 512)
    assert f"image: {out.resolve()}" in captured.out


def test_speed_ups_apply_where_asked_and_keep_the_image(
    tiny_folder: Path, model_cache: Path, generator: DiffusersGenerator
) -> None:
    assert generator.applied == []  # on the CPU none is on by default: channels_last costs there
    fast = DiffusersGenerator(
        GeneratorOptions(
            model=str(tiny_folder), cache_dir=model_cache, threads=2, channels_last=True, fuse_qkv=True
        )
    )
    fast.load()
    assert fast.applied == ["channels_last", "fused QKV"]
    plain = generator.generate(spec(seed=7, width=256, height=256), keep_going)
    fused = fast.generate(spec(seed=7, width=256, height=256), keep_going)
    assert (fused.width, fused.height) == (256, 256)

    # the same computation, reordered: pixels differ by rounding only
    def mean_difference(a: bytes, b: bytes) -> float:
        return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)

    other_seed = generator.generate(spec(seed=8, width=256, height=256), keep_going)
    assert mean_difference(plain.pixels, fused.pixels) < 2  # rounding (a random model amplifies it)
    assert mean_difference(plain.pixels, other_seed.pixels) > 10  # what a different image is


def test_compile_wraps_the_unet_and_vae_lazily_with_a_cache_next_to_the_models(
    tiny_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    compiled = DiffusersGenerator(
        GeneratorOptions(
            model=str(tiny_folder), cache_dir=tmp_path, threads=2, compile="unet+vae", compile_mode="default"
        )
    )
    compiled.load()  # torch.compile is lazy: nothing is compiled until the first call
    assert compiled.applied == ["compiled UNet (default)", "compiled VAE decoder"]
    assert isinstance(compiled._pipe.unet, torch._dynamo.eval_frame.OptimizedModule)
    assert (tmp_path / "torch-compile").is_dir()
    import os

    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "torch-compile")


def test_warm_up_runs_each_configured_resolution_once_at_load(tiny_folder: Path, model_cache: Path) -> None:
    warm = DiffusersGenerator(
        GeneratorOptions(
            model=str(tiny_folder), cache_dir=model_cache, threads=2, warm_up=("64x64", "128x64")
        )
    )
    warm.load()
    assert warm.warmed == ["64x64", "128x64"]
    warm.load()  # loaded: no second warm-up
    assert warm.warmed == ["64x64", "128x64"]
