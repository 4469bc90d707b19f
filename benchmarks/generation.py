"""Generation speed of the worker's generator (DiffusersGenerator), single images and batches.

    PYTHONPATH=src python benchmarks/generation.py --model sd15 --steps 20
    PYTHONPATH=src python benchmarks/generation.py --model tiny --steps 20

`sd15` builds a full-size SD-1.5-shaped pipeline with random weights (same compute as the real
model), saves it and loads it through the generator's own loading code. Prints seconds per image,
images per minute, batching gain and peak GPU memory, and compares with the original design's
RTX 3090 figures (512x512 in 8-12 s, 1024x1024 in 15-25 s)."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from nexus_image.adapters.diffusers import DiffusersGenerator, GeneratorOptions
from nexus_image.application.ports import RenderSpec
from nexus_image.domain.parameters import GenerationParameters

ORIGINAL = {"512x512": (8.0, 12.0), "1024x1024": (15.0, 25.0), "1024x1536": (25.0, 40.0)}


def spec(width: int, height: int, steps: int, seed: int) -> RenderSpec:
    prompt = "a lighthouse on a cliff at dawn"
    parameters = GenerationParameters.create(prompt=prompt, seed=seed, steps=steps, guidance=7.5)
    return RenderSpec(parameters, prompt, "blurry", width, height)


def timed(gen: DiffusersGenerator, specs: list[RenderSpec], repeats: int) -> float:
    import torch

    best = float("inf")
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        began = time.perf_counter()
        gen.generate_batch(specs, lambda s, n: True)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - began)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["tiny", "sd15"], default="tiny")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batches", default="1,2,4")
    parser.add_argument("--resolutions", default="512x512,1024x1024")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "nexus-bench-models"))
    args = parser.parse_args()
    import torch

    cache = Path(args.cache)
    if args.model == "sd15":
        from benchmarks.sd15_shaped import ensure_sd15_shaped

        began = time.perf_counter()
        folder = ensure_sd15_shaped(cache / "sd15-shaped-random")
        print(f"built/saved SD-1.5-shaped pipeline in {time.perf_counter() - began:.1f} s")
        options = GeneratorOptions(model=str(folder), cache_dir=cache)
    else:
        options = GeneratorOptions(cache_dir=cache)
    gen = DiffusersGenerator(options)
    began = time.perf_counter()
    gen.load()
    p = gen.placement
    print(
        f"loaded in {time.perf_counter() - began:.2f} s on {p.device} ({p.dtype_name}, {p.threads} threads)"
    )
    if torch.cuda.is_available():
        print(f"gpu: {torch.cuda.get_device_name()}")
    gen.generate(spec(512, 512, 2, 0), lambda s, n: True)  # warm-up
    for resolution in args.resolutions.split(","):
        w, h = (int(v) for v in resolution.split("x"))
        base = None
        for size in (int(b) for b in args.batches.split(",")):
            if torch.cuda.is_available():
                torch.cuda.reset_peak_memory_stats()
            seconds = timed(gen, [spec(w, h, args.steps, s) for s in range(size)], args.repeats)
            per_image = seconds / size
            base = base or per_image
            peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else 0.0
            line = (
                f"{resolution} batch {size}: {seconds:.2f} s/batch, {per_image:.2f} s/image, "
                f"{60 / per_image:.1f} images/min, batching gain x{base / per_image:.2f}, peak {peak:.1f} GiB"
            )
            if resolution in ORIGINAL and size == 1:
                lo, hi = ORIGINAL[resolution]
                line += f", vs original RTX 3090 {lo:.0f}-{hi:.0f} s: x{lo / per_image:.1f}-{hi / per_image:.1f} faster"
            print(line, flush=True)


if __name__ == "__main__":
    main()
