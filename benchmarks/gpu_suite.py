"""The GPU figures in one go, with their log kept: for each speed-up switch alone and all of them
together (SDPA is PyTorch's default attention in every configuration; `channels_last`,
`fuse_qkv`, `torch.compile` with `max-autotune` and CUDA graphs per resolution bucket, its cache
kept under the model cache), on a full-size SD-1.5-shaped pipeline:

- cold start: loading the generator (compiling where asked) to the first image;
- UNet iterations per second at 512x512 (batch 2: classifier-free guidance), timed with CUDA
  events over `--unet-iterations` calls;
- the whole pipeline at 512x512, 20 steps: batch 1, then a batch sweep (images per minute);
- the worker loop (benchmarks/batching.py's, at the best batch) against the generator alone.

    PYTHONPATH=src:. python benchmarks/gpu_suite.py --model sd15 --log benchmarks/gpu_suite.log
    PYTHONPATH=src:. python benchmarks/gpu_suite.py --model tiny --batches 1,2 --configs baseline   # smoke test, CPU

Targets on an H100 (issue "Performance"): >= 70 it/s at batch 1, >= 500 images/min at the best
batch, the worker loop >= 95 % of the generator alone. Prints one JSON line per measurement and a
summary; `--log` keeps everything printed."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from nexus_image.adapters.diffusers import DiffusersGenerator, GeneratorOptions
from nexus_image.application.ports import RenderSpec
from nexus_image.domain.parameters import GenerationParameters

CONFIGS: dict[str, dict[str, Any]] = {
    "baseline": {"channels_last": False, "fuse_qkv": False, "compile": "none"},
    "channels_last": {"channels_last": True, "fuse_qkv": False, "compile": "none"},
    "fuse_qkv": {"channels_last": False, "fuse_qkv": True, "compile": "none"},
    "compile": {"channels_last": False, "fuse_qkv": False, "compile": "unet", "compile_mode": "max-autotune"},
    "all": {"channels_last": True, "fuse_qkv": True, "compile": "unet+vae", "compile_mode": "max-autotune"},
}


class Log:
    def __init__(self, path: Path | None) -> None:
        self.file = path.open("a") if path is not None else None

    def __call__(self, record: dict[str, Any]) -> None:
        line = json.dumps(record)
        print(line, flush=True)
        if self.file is not None:
            self.file.write(line + "\n")
            self.file.flush()


def spec(steps: int, seed: int, size: int = 512) -> RenderSpec:
    prompt = "a lighthouse on a cliff at dawn"
    parameters = GenerationParameters.create(prompt=prompt, seed=seed, steps=steps, guidance=7.5)
    return RenderSpec(parameters, prompt, "blurry", size, size)


def synchronize() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def wall(work: Callable[[], object]) -> float:
    synchronize()
    began = time.perf_counter()
    work()
    synchronize()
    return time.perf_counter() - began


def unet_its(gen: DiffusersGenerator, iterations: int, size: int = 512) -> float:
    """UNet calls per second at `size` (batch 2: classifier-free guidance), CUDA events where
    there is a GPU, the wall clock otherwise."""
    import torch

    pipe = gen._pipe  # the loaded pipeline: its own UNet, dtype and device
    unet = pipe.unet
    device, dtype = unet.device, unet.dtype
    channels = unet.config.in_channels
    latents = torch.randn(2, channels, size // 8, size // 8, device=device, dtype=dtype)
    text = torch.randn(2, 77, unet.config.cross_attention_dim, device=device, dtype=dtype)
    timestep = torch.tensor(500, device=device)
    with torch.inference_mode():
        for _ in range(3):  # warm-up (and compilation, where compiled)
            unet(latents, timestep, encoder_hidden_states=text)
        if torch.cuda.is_available():
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(iterations):
                unet(latents, timestep, encoder_hidden_states=text)
            end.record()
            torch.cuda.synchronize()
            return iterations / (start.elapsed_time(end) / 1000)
        seconds = wall(
            lambda: [unet(latents, timestep, encoder_hidden_states=text) for _ in range(iterations)]
        )
        return iterations / seconds


def measure(name: str, options: GeneratorOptions, args: argparse.Namespace, log: Log) -> dict[str, Any]:
    import torch

    gen = DiffusersGenerator(options)
    began = time.perf_counter()
    gen.load()
    loaded = time.perf_counter() - began
    first = wall(lambda: gen.generate(spec(args.steps, 0), lambda s, n: True))
    log({"config": name, "measure": "cold_start", "load_s": round(loaded, 2), "first_image_s": round(first, 2),
         "applied": list(gen.applied)})  # fmt: skip
    its = unet_its(gen, args.unet_iterations)
    log({"config": name, "measure": "unet_its", "size": 512, "its": round(its, 1)})
    single = min(
        wall(lambda: gen.generate(spec(args.steps, 1), lambda s, n: True)) for _ in range(args.repeats)
    )
    log({"config": name, "measure": "pipeline_batch1", "steps": args.steps, "s_per_image": round(single, 3),
         "pipeline_its": round(args.steps / single, 1)})  # fmt: skip
    best = (1, 60 / single)
    for size in (int(b) for b in args.batches.split(",")):
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        specs = [spec(args.steps, seed) for seed in range(size)]
        try:
            seconds = min(
                wall(lambda specs=specs: gen.generate_batch(specs, lambda s, n: True))
                for _ in range(args.repeats)
            )
        except torch.OutOfMemoryError:
            log({"config": name, "measure": "batch", "batch": size, "error": "out of memory"})
            break
        per_minute = 60 * size / seconds
        peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else 0.0
        log({"config": name, "measure": "batch", "batch": size, "s_per_batch": round(seconds, 3),
             "images_per_min": round(per_minute, 1), "peak_gib": round(peak, 2)})  # fmt: skip
        best = max(best, (size, per_minute), key=lambda b: b[1])
    gen.unload()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return {
        "config": name,
        "unet_its": its,
        "batch1_s": single,
        "best_batch": best[0],
        "best_per_min": best[1],
    }


def worker_loop(options: GeneratorOptions, batch: int, args: argparse.Namespace, log: Log) -> None:
    """The worker loop at `batch` (benchmarks/batching.py's: queue, generator, PNG and thumbnail,
    storage, database) against the generator alone: the share of the wall time it adds."""
    from benchmarks.batching import TimedGenerator
    from benchmarks.batching import run as worker_run

    generator = TimedGenerator(DiffusersGenerator(options))
    generator.inner.load()
    jobs = max(batch * 3, 8)
    worker_run(generator, batch, batch, "512x512", args.steps)  # warm-up
    seconds, inside = worker_run(generator, batch, jobs, "512x512", args.steps)
    log({"measure": "worker_loop", "batch": batch, "jobs": jobs, "wall_s": round(seconds, 2),
         "generator_s": round(inside, 2), "loop_vs_generator": round(inside / seconds, 3)})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", choices=["tiny", "sd15"], default="sd15")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--unet-iterations", type=int, default=50)
    parser.add_argument("--batches", default="1,4,8,16,24,32")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"some of {', '.join(CONFIGS)}")
    parser.add_argument("--worker-loop", action="store_true", help="also the worker loop at the best batch")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "nexus-bench-models"))
    parser.add_argument("--log", type=Path, default=None, help="append every line printed to this file")
    args = parser.parse_args()
    import torch

    log = Log(args.log)
    cache = Path(args.cache)
    model: str | None = None
    if args.model == "sd15":
        from benchmarks.sd15_shaped import ensure_sd15_shaped

        model = str(ensure_sd15_shaped(cache / "sd15-shaped-random"))
    device = (
        torch.cuda.get_device_name()
        if torch.cuda.is_available()
        else "cpu (no GPU: figures are not GPU figures)"
    )
    log({"measure": "machine", "device": device, "torch": torch.__version__, "python": sys.version.split()[0],
         "date": time.strftime("%Y-%m-%d"), "model": args.model})  # fmt: skip
    summary = []
    for name in args.configs.split(","):
        options = GeneratorOptions(
            model=model, cache_dir=cache, warm_up=("512x512",) if "compile" in name or name == "all" else (),
            **CONFIGS[name],
        )  # fmt: skip
        summary.append(measure(name, options, args, log))
    best = max(summary, key=lambda s: s["best_per_min"])
    log({"measure": "summary", "configs": summary, "best": best["config"],
         "targets": {"unet_its_ge_70": max(s["unet_its"] for s in summary) >= 70,
                     "images_per_min_ge_500": best["best_per_min"] >= 500}})  # fmt: skip
    if args.worker_loop:
        options = GeneratorOptions(model=model, cache_dir=cache, **CONFIGS[best["config"]])
        worker_loop(options, best["best_batch"], args, log)


if __name__ == "__main__":
    main()
