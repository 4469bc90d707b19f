"""`nexus-image worker` with the pattern generator in place of a model, for scale tests: the
same process, loops, Kafka consumer, storage and database code, minus the diffusion time."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from nexus_image.application.errors import GenerationError
from nexus_image.application.ports import RawImage, RenderSpec, StepCallback
from nexus_image.entrypoints.settings import Settings
from nexus_image.entrypoints.worker.process import WorkerProcess
from nexus_image.testing import PatternGenerator

FAIL_MARKER = "FAIL-ME"  # a prompt with it fails like a model out of memory
HANG_MARKER = "HANG-ME"  # a prompt with it hangs until --release-file exists


class ScriptedPatternGenerator(PatternGenerator):
    """Patterns, except for prompts carrying a marker: failures and hangs on demand, so tests of
    the operator's view (metrics, alerts) can force them in a real worker process."""

    def __init__(self, release_file: Path | None, delay: float = 0.0) -> None:
        super().__init__()
        self.release_file = release_file
        self.delay = delay  # seconds per image: a generation that takes time, as a model's does

    def generate_batch(self, specs: list[RenderSpec], on_step: StepCallback) -> list[RawImage]:
        prompts = " ".join(spec.prompt for spec in specs)
        if HANG_MARKER in prompts and self.release_file is not None:
            while not self.release_file.exists():
                time.sleep(0.05)
        if FAIL_MARKER in prompts:
            raise GenerationError("CUDA out of memory (forced by the test)")
        time.sleep(self.delay * len(specs))
        return super().generate_batch(specs, on_step)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker-id", required=True)
    parser.add_argument("--metrics-port", type=int, default=0)
    parser.add_argument("--max-batch", type=int, default=None)
    parser.add_argument("--release-file", type=Path, default=None, help=f"where {HANG_MARKER} waits")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds each image takes")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {"worker_metrics_port": args.metrics_port}
    if args.max_batch is not None:
        overrides["max_batch"] = args.max_batch
    WorkerProcess(
        Settings(**overrides),
        args.worker_id,
        generator=ScriptedPatternGenerator(args.release_file, args.delay),
    ).run()


if __name__ == "__main__":
    main()
