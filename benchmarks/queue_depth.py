"""Does a deep queue slow down asking for an image, or grow the API's memory?

    PYTHONPATH=src:. .venv/bin/python benchmarks/queue_depth.py --depth 100000

`nexus-image serve` (API only, no worker: accepted jobs stay QUEUED) on a fresh PostgreSQL
database, as benchmarks/api_load.py starts it. At an empty queue, then again after `--depth`
QUEUED jobs were added ahead (copies of a real job, by one INSERT ... SELECT, then ANALYZE),
one client sends `--requests` generate requests in turn as 64 users, timing each, and reads
the newest job (GET, at the back of the queue: its position counts every job ahead) as many
times; the server's resident memory is read from /proc after each phase. Printed: P50/P95 per
phase and the deep/shallow ratios."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.api_load import BODY, Database, Served, user_token


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")  # pragma: no cover


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def phase(served: Served, requests: int) -> dict[str, Any]:
    posts: list[float] = []
    gets: list[float] = []
    newest = ""
    positions: list[int] = []
    for i in range(requests):
        headers = {"Authorization": f"Bearer {user_token(f'bench-{i % 64}')}"}
        started = time.perf_counter()
        response = served.client.post("/api/v1/images/generate", json=BODY, headers=headers)
        posts.append((time.perf_counter() - started) * 1000)
        if response.status_code != 201:
            raise SystemExit(f"POST answered {response.status_code}: {response.text}")
        newest = response.json()["id"]
        started = time.perf_counter()
        read = served.client.get(f"/api/v1/images/{newest}", headers=headers)
        gets.append((time.perf_counter() - started) * 1000)
        if read.status_code != 200:
            raise SystemExit(f"GET answered {read.status_code}: {read.text}")
        positions.append(read.json().get("queue_position") or 0)
    return {
        "post_p50_ms": round(statistics.median(posts), 2),
        "post_p95_ms": round(percentile(posts, 0.95), 2),
        "get_back_of_queue_p50_ms": round(statistics.median(gets), 2),
        "get_back_of_queue_p95_ms": round(percentile(gets, 0.95), 2),
        "last_queue_position": positions[-1],
        "server_rss_mib": round(rss_mib(served.process.pid), 1),
    }


def deepen(url: str, template: str, depth: int) -> float:
    """`depth` QUEUED copies of the template job, created before it (so ahead of new ones)."""
    columns = [
        "id", "user_id", "prompt", "negative_prompt", "style", "resolution", "seed", "steps", "guidance",
        "scheduler", "tokens_cost", "status", "is_public", "companion_id", "created_at", "attempts", "version",
    ]  # fmt: skip
    copied = {
        "id": "t.id || '-' || g",
        "user_id": "'deep-' || (g %% 5000)",
        "created_at": "t.created_at - (g * interval '1 millisecond')",
    }
    values = [copied.get(name, f"t.{name}") for name in columns]
    insert = (
        f"INSERT INTO jobs ({', '.join(columns)}) SELECT {', '.join(values)} "
        "FROM jobs t, generate_series(1, %(depth)s) g WHERE t.id = %(template)s"
    )
    started = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(insert, {"depth": depth, "template": template})
        conn.execute("ANALYZE jobs")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--depth", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="POST + GET pairs per phase (default 300)")
    args = parser.parse_args()
    database = Database(None)
    try:
        database.upgrade()
        with tempfile.TemporaryDirectory() as data:
            served = Served(database.url, Path(data), None)
            try:
                template = served.seed()
                phase(served, 30)  # warm-up: connections, statement caches, accounts opened
                shallow = phase(served, args.requests)
                seconds = deepen(database.url, template, args.depth)
                phase(served, 30)
                deep = phase(served, args.requests)
            finally:
                served.close()
    finally:
        database.drop()
    ratios = {key: round(deep[key] / shallow[key], 2) for key in shallow if key.endswith(("_ms", "_mib"))}
    print(
        json.dumps(
            {
                "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
                "depth": args.depth,
                "seed_seconds": round(seconds, 1),
                "shallow": shallow,
                "deep": deep,
                "deep_over_shallow": ratios,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
