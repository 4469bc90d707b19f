"""Does a deep queue slow down choosing the next job, asking for an image, or the API's memory?

    PYTHONPATH=src:. .venv/bin/python benchmarks/queue_depth.py --depth 100000
    PYTHONPATH=src:. .venv/bin/python benchmarks/queue_depth.py --part dispatcher
    PYTHONPATH=src:. .venv/bin/python benchmarks/queue_depth.py --part api --completed 1000000

The dispatcher part (`--part dispatcher`): a fresh PostgreSQL database with `--shallow` (100) and
then `--depth` QUEUED jobs of 200 users in two tiers (copies of a real job, by one INSERT ...
SELECT, then ANALYZE); one dispatcher round that chooses and dispatches one job is timed
`--rounds` times rolled back (the queue stays as it is: the cost of choosing) and 50 times
committed (the queue moves on). Printed: P50/P95 at each depth and the deep/shallow ratios.

The API part (`--part api`):
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
        "post_p99_ms": round(percentile(posts, 0.99), 2),
        "get_back_of_queue_p50_ms": round(statistics.median(gets), 2),
        "get_back_of_queue_p95_ms": round(percentile(gets, 0.95), 2),
        "get_back_of_queue_p99_ms": round(percentile(gets, 0.99), 2),
        "last_queue_position": positions[-1],
        "server_rss_mib": round(rss_mib(served.process.pid), 1),
    }


def deepen(
    url: str,
    template: str,
    depth: int,
    users: int = 5000,
    tiers: tuple[str, ...] = ("standard",),
    status: str = "QUEUED",
) -> float:
    """`depth` QUEUED copies of the template job, created before it (so ahead of new ones), of
    `users` users spread over `tiers`, each user in their tier's rotation; with `status`
    COMPLETED, finished copies instead (the images a service has made), of other users."""
    plain = url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(plain, autocommit=True) as conn:
        columns = [
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'jobs' ORDER BY ordinal_position"
            )
        ]
    tier_of = "(ARRAY[" + ", ".join(f"'{t}'" for t in tiers) + f"])[1 + (g %% {users}) %% {len(tiers)}]"
    copied = {
        "id": f"t.id || '-{status[0].lower()}' || g",
        "user_id": f"'{'deep' if status == 'QUEUED' else 'done'}-' || (g %% {users})",
        "created_at": "t.created_at - (g * interval '1 millisecond')",
        "status": f"'{status}'",
        "dispatched_at": "NULL",
        "dispatched_to": "NULL",
        "tier": tier_of,
    }
    if status == "COMPLETED":
        copied.update(started_at="t.created_at", completed_at="t.created_at - (g * interval '1 millisecond')")
    values = [copied.get(name, f"t.{name}") for name in columns]
    insert = (
        f"INSERT INTO jobs ({', '.join(columns)}) SELECT {', '.join(values)} "
        "FROM jobs t, generate_series(1, %(depth)s) g WHERE t.id = %(template)s"
    )
    rotations = (
        "INSERT INTO queue_users (user_id, tier, served_at, waiting, mark) "
        "SELECT DISTINCT user_id, tier, TIMESTAMPTZ '1970-01-01 00:00:00+00', true, 1 FROM jobs "
        "WHERE status = 'QUEUED' ON CONFLICT (user_id) DO UPDATE SET waiting = true"
    )
    started = time.perf_counter()
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(insert, {"depth": depth, "template": template})
        if status == "QUEUED":
            conn.execute(rotations)
        conn.execute("VACUUM ANALYZE jobs")
        conn.execute("VACUUM ANALYZE queue_users")
        conn.execute("VACUUM ANALYZE queue_waiting")
    return time.perf_counter() - started


DISPATCHER_TIERS = (
    '{"free": {"weight": 1, "max_queued": 1000000}, "pro": {"weight": 3, "max_queued": 1000000}}'
)


def choosing(url: str, depth: int, rounds: int) -> dict[str, Any]:
    """A database with `depth` QUEUED jobs of 200 users in two tiers; one dispatcher round that
    chooses and dispatches one job, timed rolled back (`rounds` times) and committed (50)."""
    from nexus_image.application import GenerateImage
    from nexus_image.entrypoints.composition import compose
    from nexus_image.entrypoints.settings import Settings

    with tempfile.TemporaryDirectory() as data:
        settings = Settings(
            database_url=url,
            data_dir=Path(data),
            welcome_tokens=10**9,
            tiers=DISPATCHER_TIERS,
            dispatcher=False,
        )
        app = compose("cli", settings)
        try:
            template = app.request_generation.execute(GenerateImage("seed", **BODY)).id  # type: ignore[arg-type]
            seconds = deepen(url, template, depth - 1, users=200, tiers=("free", "pro"))
            dispatch, factory = app.container.dispatch_jobs(), app.container.uow_factory()
            dispatch.execute(room=0)  # the first round's one-off work (tiers checked), untimed
            chosen: list[float] = []
            for _ in range(rounds + 20):
                with factory() as uow:  # left without commit: rolled back
                    began = time.perf_counter()
                    sent, _ = dispatch._round(uow, 1, False)
                    chosen.append((time.perf_counter() - began) * 1000)
                    assert sent == 1
            committed: list[float] = []
            for _ in range(50 + 5):
                began = time.perf_counter()
                assert dispatch.execute(room=1) == 1
                committed.append((time.perf_counter() - began) * 1000)
        finally:
            app.close()
    chosen, committed = chosen[20:], committed[5:]  # after the warm-up: plans and caches made
    return {
        "queued": depth,
        "seed_seconds": round(seconds, 1),
        "choose_p50_ms": round(statistics.median(chosen), 3),
        "choose_p95_ms": round(percentile(chosen, 0.95), 3),
        "round_p50_ms": round(statistics.median(committed), 3),
        "round_p95_ms": round(percentile(committed, 0.95), 3),
    }


def scheduler_part(depth: int, shallow: int, rounds: int) -> dict[str, Any]:
    results = {}
    for size in (shallow, depth):
        database = Database(None)
        try:
            database.upgrade()
            results[size] = choosing(database.url, size, rounds)
        finally:
            database.drop()
    small, deep = results[shallow], results[depth]
    ratios = {key: round(deep[key] / small[key], 2) for key in small if key.endswith("_ms")}
    return {"shallow": small, "deep": deep, "deep_over_shallow": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--depth", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="POST + GET pairs per phase (default 300)")
    parser.add_argument(
        "--completed", type=int, default=0, help="the API part: COMPLETED images added too (default 0)"
    )
    parser.add_argument("--part", choices=("api", "dispatcher", "both"), default="both")
    parser.add_argument(
        "--shallow", type=int, default=100, help="the dispatcher's shallow queue (default 100)"
    )
    parser.add_argument(
        "--rounds", type=int, default=300, help="dispatcher rounds timed, rolled back (default 300)"
    )
    args = parser.parse_args()
    report: dict[str, Any] = {
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        "depth": args.depth,
    }
    if args.part in ("dispatcher", "both"):
        report["dispatcher"] = scheduler_part(args.depth, args.shallow, args.rounds)
    if args.part in ("api", "both"):
        report["api"] = api_part(args.depth, args.requests, args.completed)
    print(json.dumps(report, indent=2))


def api_part(depth: int, requests: int, completed: int = 0) -> dict[str, Any]:
    database = Database(None)
    try:
        database.upgrade()
        with tempfile.TemporaryDirectory() as data:
            served = Served(database.url, Path(data), None)
            try:
                template = served.seed()
                phase(served, 30)  # warm-up: connections, statement caches, accounts opened
                shallow = phase(served, requests)
                seconds = deepen(database.url, template, depth)
                if completed:
                    seconds += deepen(database.url, template, completed, users=50_000, status="COMPLETED")
                phase(served, 30)
                deep = phase(served, requests)
            finally:
                served.close()
    finally:
        database.drop()
    ratios = {key: round(deep[key] / shallow[key], 2) for key in shallow if key.endswith(("_ms", "_mib"))}
    return {
        "seed_seconds": round(seconds, 1),
        "completed": completed,
        "shallow": shallow,
        "deep": deep,
        "deep_over_shallow": ratios,
    }


if __name__ == "__main__":
    main()
