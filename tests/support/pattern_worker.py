"""`nexus-image worker` with the pattern generator in place of a model, for scale tests: the
same process, loops, Kafka consumer, storage and database code, minus the diffusion time."""

from __future__ import annotations

import argparse
import logging

from nexus_image.entrypoints.settings import Settings
from nexus_image.entrypoints.worker.process import WorkerProcess
from nexus_image.testing import PatternGenerator


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker-id", required=True)
    parser.add_argument("--metrics-port", type=int, default=0)
    parser.add_argument("--max-batch", type=int, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {"worker_metrics_port": args.metrics_port}
    if args.max_batch is not None:
        overrides["max_batch"] = args.max_batch
    WorkerProcess(Settings(**overrides), args.worker_id, generator=PatternGenerator()).run()


if __name__ == "__main__":
    main()
