"""Prompt moderation under concurrency: what the semantic layer costs per unique prompt when
`--threads` requests (16, as the API benchmark's connections) moderate at once.

    HF_HUB_OFFLINE=1 PYTHONPATH=src:. .venv/bin/python benchmarks/moderation_load.py
    HF_HUB_OFFLINE=1 PYTHONPATH=src:. .venv/bin/python benchmarks/moderation_load.py --threads 1

The moderator is the production one (rules, then the embeddings layer) built the way the API
builds it. Every prompt is new (no cache can answer it) and allowed by the rules, so every one
reaches the embeddings layer. Printed: CPU seconds of the process per prompt (all threads
together, what a request costs the machine), and the wall time of one call at P50 and P95 (what a
request waits, queueing behind the others included). The labelled sets' recall and false
positives come from benchmarks/moderation.py."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from nexus_image.entrypoints.composition.builders import moderator
from nexus_image.entrypoints.settings import Settings

SCENES = ["lighthouse", "harbour", "meadow", "castle", "forest", "desert", "glacier", "market",
          "library", "garden", "canyon", "village", "bridge", "orchard", "volcano", "reef"]  # fmt: skip
MOODS = ["at dawn", "in fog", "under snow", "in spring rain", "by moonlight", "after a storm",
         "as a watercolor", "as an oil painting with heavy brush strokes and a warm palette"]  # fmt: skip


def prompt(n: int) -> str:
    return f"a {SCENES[n % len(SCENES)]} {MOODS[n % len(MOODS)]}, detailed study number {n}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--prompts", type=int, default=320)
    args = parser.parse_args()
    layered = moderator(Settings(moderation_semantic=True))
    layered.check("a warm-up prompt about a quiet harbour")  # loads the model and the examples

    def one(n: int) -> float:
        began = time.perf_counter()
        verdict = layered.check(prompt(n))
        if not verdict.allowed:
            raise SystemExit(f"prompt {n} was refused ({verdict}): pick prompts the rules allow")
        return time.perf_counter() - began

    cpu, began = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        waits = sorted(pool.map(one, range(args.prompts)))
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    print(
        json.dumps(
            {
                "date": datetime.now(UTC).date().isoformat(),
                "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
                "threads": args.threads,
                "prompts": args.prompts,
                "cpu_ms_per_prompt": round(1000 * cpu / args.prompts, 2),
                "wall_ms_p50": round(1000 * statistics.median(waits), 1),
                "wall_ms_p95": round(1000 * waits[int(0.95 * (len(waits) - 1))], 1),
                "prompts_per_s": round(args.prompts / wall, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
