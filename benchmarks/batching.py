"""What the worker's dynamic batching buys, end to end: jobs per second through the real worker
loop (WorkerLoop -> ProcessJobs -> DiffusersGenerator -> PNG + thumbnail -> storage -> database)
with `max_batch` 1, 2 and 4, on identical queues of compatible jobs.

    PYTHONPATH=src:. python benchmarks/batching.py                 # tiny random pipeline
    PYTHONPATH=src:. python benchmarks/batching.py --full          # full-size SD-1.5-shaped, random weights

The database, queue and storage are the in-memory adapters, so the figures isolate the worker's
own work (generation, encoding, bookkeeping) from network latency. `generation share` is the part
of the wall time spent inside the generator; the rest (PNG/WebP encoding, storage, transactions)
does not shrink with batching."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from nexus_image.adapters.diffusers import DiffusersGenerator, GeneratorOptions
from nexus_image.adapters.memory import InMemoryQueue
from nexus_image.application import GenerateImage
from nexus_image.application.ports import RawImage, RenderSpec, StepCallback
from nexus_image.entrypoints.composition import compose
from nexus_image.entrypoints.settings import Settings
from nexus_image.entrypoints.worker import WorkerLoop
from nexus_image.testing import FixedSeeds


class TimedGenerator:
    """The generator, with the seconds spent inside it counted."""

    def __init__(self, inner: DiffusersGenerator) -> None:
        self.inner = inner
        self.seconds = 0.0

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    def generate(self, spec: RenderSpec, on_step: StepCallback) -> RawImage:
        return self.generate_batch([spec], on_step)[0]

    def generate_batch(self, specs: list[RenderSpec], on_step: StepCallback) -> list[RawImage]:
        began = time.perf_counter()
        try:
            return self.inner.generate_batch(specs, on_step)
        finally:
            self.seconds += time.perf_counter() - began


def run(
    generator: TimedGenerator, max_batch: int, jobs: int, resolution: str, steps: int
) -> tuple[float, float]:
    """(wall seconds, generator seconds) to drain `jobs` queued jobs."""
    queue = InMemoryQueue()
    settings = Settings.model_construct(welcome_tokens=10**9)
    app = compose("memory", settings, in_process_queue=queue, seeds=FixedSeeds(), generator=generator)
    service = app.service
    for seed in range(jobs):
        prompt = f"a lighthouse on a cliff at dawn, variation {seed}"
        service.request_generation(
            GenerateImage(user_id="bench", prompt=prompt, resolution=resolution, seed=seed, steps=steps)
        )
    service.relay.drain()
    loop = WorkerLoop(app.container.process_jobs(), queue, max_batch=max_batch, poll_seconds=0.01)
    generator.seconds = 0.0
    began = time.perf_counter()
    while loop.processed < jobs:
        # the fair queue hands jobs to the workers in turn: one dispatcher round, then its messages
        service.dispatcher.execute(room=max_batch * 2)
        service.relay.drain()
        loop.run_once()
    wall = time.perf_counter() - began
    with service.deps.uow_factory() as uow:
        completed = uow.jobs.count_by_status()["COMPLETED"]
    assert completed == jobs, f"only {completed} of {jobs} completed"
    return wall, generator.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="full-size SD-1.5-shaped random pipeline")
    parser.add_argument("--jobs", type=int, default=None, help="jobs per run (default 8 tiny, 16 full)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--resolution", default="512x512")
    parser.add_argument("--batches", default="1,2,4")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "nexus-bench-models"))
    args = parser.parse_args()
    cache = Path(args.cache)
    jobs = args.jobs or (16 if args.full else 8)
    if args.full:
        from benchmarks.sd15_shaped import ensure_sd15_shaped

        options = GeneratorOptions(
            model=str(ensure_sd15_shaped(cache / "sd15-shaped-random")), cache_dir=cache
        )
    else:
        options = GeneratorOptions(cache_dir=cache)
    inner = DiffusersGenerator(options)
    inner.load()
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()  # the style templates overflow CLIP's 77 tokens: it says so
    p = inner.placement
    kind = "SD-1.5-shaped (random weights)" if args.full else "tiny SD-1.5-shaped (random weights)"
    print(
        f"{kind} on {p.device} ({p.dtype_name}, {p.threads} threads); {jobs} jobs of {args.resolution}, {args.steps} steps"
    )
    generator = TimedGenerator(inner)
    batches = [int(b) for b in args.batches.split(",")]
    run(generator, max(batches), max(batches), args.resolution, 2)  # warm-up, every batch shape once
    base = None
    for size in batches:
        wall, inside = run(generator, size, jobs, args.resolution, args.steps)
        rate = jobs / wall
        base = base or rate
        print(
            f"max_batch {size}: {wall:.2f} s for {jobs} jobs, {rate:.2f} jobs/s, {wall / jobs:.3f} s/job, "
            f"x{rate / base:.2f} vs batch 1, generation share {inside / wall:.0%}",
            flush=True,
        )


if __name__ == "__main__":
    main()
