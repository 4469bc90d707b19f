"""`nexus-image worker`: the standalone generation worker (see entrypoints/worker/process.py)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "worker",
        help="run a generation worker: jobs from Kafka, images to object storage",
        description="Takes jobs from the queue (Kafka when NEXUS_IMAGE_KAFKA_BOOTSTRAP_SERVERS is set), "
        "generates them with the configured model, stores the results and relays the outbox. "
        "Start one per GPU; workers sharing a consumer group share the load.",
    )
    parser.add_argument("--max-batch", type=int, default=None, help="most jobs run as one batch")
    parser.add_argument("--metrics-port", type=int, default=None, help="Prometheus port (0 = none)")
    parser.add_argument(
        "--metrics-host", default=None, help="address /metrics and /health listen on (default 127.0.0.1)"
    )
    parser.add_argument("--worker-id", default=None, help="name recorded on the jobs it runs")
    parser.set_defaults(handler=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from nexus_image.entrypoints.cli.first_run import needs_model
    from nexus_image.entrypoints.cli.main import RANDOM_MODEL_NOTICE
    from nexus_image.entrypoints.composition.builders import default_worker_id
    from nexus_image.entrypoints.logs import configure_logging
    from nexus_image.entrypoints.settings import Settings
    from nexus_image.entrypoints.worker.process import WorkerProcess

    overrides: dict[str, Any] = {}
    if args.max_batch is not None:
        overrides["max_batch"] = args.max_batch
    if args.metrics_port is not None:
        overrides["worker_metrics_port"] = args.metrics_port
    if args.metrics_host is not None:
        overrides["worker_metrics_host"] = args.metrics_host
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_json)
    if settings.model is None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if needs_model(settings):
            print(RANDOM_MODEL_NOTICE, file=sys.stderr)
    if not settings.kafka_bootstrap_servers:
        print("note: no Kafka configured: jobs come from this worker's own outbox relay", file=sys.stderr)
    WorkerProcess(settings, args.worker_id or default_worker_id("worker")).run()
    return 0
