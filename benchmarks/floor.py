"""The HTTP API against its floor, in one run: the same work done the simplest way
(benchmarks/floor_app.py: Litestar + psycopg, JWT checked per request, POST = one transaction
debiting the balance and inserting the job and an outbox row, GET = one primary-key select),
served by uvicorn on the same PostgreSQL, loaded by `wrk` the same way.

    apt-get install wrk
    PYTHONPATH=src:. .venv/bin/python benchmarks/floor.py
    PYTHONPATH=src:. .venv/bin/python benchmarks/floor.py --semantic off --duration 20
    PYTHONPATH=src:. .venv/bin/python benchmarks/floor.py --profile /tmp/profiles   # py-spy

Every POST carries a prompt never sent before (a repeated prompt would be answered by the
moderation cache and hide its cost), from `--users` users in turn. Printed: for each side
/health, GET of a queued job and POST generate (requests/s, P50/P90/P99 ms, errors), and the
ratios API / floor. nexus-image runs API only (its jobs stay QUEUED), one process each."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from tests.support.servers import free_port

from benchmarks.api_load import SECRET, Database, Served, profiler, user_token, wrk

UNIQUE_POST_LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local tokens = {{{tokens}}}
local words = {{"lighthouse", "harbour", "meadow", "castle", "forest", "desert", "glacier",
  "market", "library", "garden", "canyon", "village", "bridge", "orchard", "volcano", "reef"}}
local moods = {{"at dawn", "at dusk", "in fog", "under snow", "in spring rain", "at noon",
  "by moonlight", "in autumn", "after a storm", "in watercolor", "as an oil painting"}}
local n = 0
local prefix = 0
init = function(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  prefix = math.random(1, 1000000000)
end
request = function()
  n = n + 1
  local prompt = "a " .. words[(n % #words) + 1] .. " " .. moods[(n % #moods) + 1] ..
    ", study " .. prefix .. "-" .. n
  wrk.headers["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1]
  return wrk.format(nil, nil, wrk.headers, '{{"prompt": "' .. prompt .. '", "steps": 2}}')
end
"""


class Floor:
    """benchmarks/floor_app.py under uvicorn, in a child process."""

    def __init__(self, database_url: str, data: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "FLOOR_DATABASE_URL": database_url.replace("postgresql+psycopg://", "postgresql://"),
            "FLOOR_JWT_SECRET": SECRET,
        }
        self.command = [
            sys.executable, "-m", "uvicorn", "benchmarks.floor_app:app",
            "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        self.log_path = data / "floor.log"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(self.command, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.headers = {"Authorization": f"Bearer {user_token('bench')}"}
        self.client = httpx.Client(base_url=self.base, headers=self.headers, timeout=60)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the floor did not start: {self.log_path.read_text(errors='replace')}")
            time.sleep(0.2)

    def seed(self) -> str:
        created = self.client.post("/api/v1/images/generate", json={"prompt": "a seed", "steps": 2})
        if created.status_code != 201:
            raise SystemExit(f"the floor's seeding POST answered {created.status_code}: {created.text}")
        job_id: str = created.json()["id"]
        return job_id

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.client.close()
        self.log.close()


def measure(
    name: str, side: Any, job_id: str, script: Path, args: argparse.Namespace
) -> dict[str, dict[str, Any]]:
    for _ in range(20):  # warm-up: connections, caches, first-request costs
        side.client.get("/health")
        side.client.get(f"/api/v1/images/{job_id}")
    threads, c = min(2, args.connections), args.connections
    results: dict[str, dict[str, Any]] = {}
    for target, path, headers, lua in (
        ("health", "/health", {}, None),
        ("get", f"/api/v1/images/{job_id}", side.headers, None),
        ("post", "/api/v1/images/generate", {}, script),
    ):
        spy = profiler(args.profile, f"{name}-{target}", side.process.pid, args.duration)
        results[target] = wrk(side.base + path, threads, c, args.duration, headers, lua)
        if spy is not None:
            spy.wait(60)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--users", type=int, default=64, help="POST as this many users in turn (default 64)")
    parser.add_argument("--semantic", choices=("on", "off"), default="on", help="the embeddings layer")
    parser.add_argument("--profile", type=Path, default=None, help="a folder for py-spy's collapsed stacks")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    os.environ["NEXUS_IMAGE_MODERATION_SEMANTIC"] = "true" if args.semantic == "on" else "false"

    database = Database(None)
    results: dict[str, dict[str, dict[str, Any]]] = {}
    try:
        database.upgrade()
        with tempfile.TemporaryDirectory() as data:
            script = Path(data) / "post.lua"
            tokens = ", ".join(f'"{user_token(f"bench-{i}")}"' for i in range(args.users))
            script.write_text(UNIQUE_POST_LUA.format(tokens=tokens))
            floor = Floor(database.url, Path(data))
            try:
                results["floor"] = measure("floor", floor, floor.seed(), script, args)
            finally:
                floor.close()
            served = Served(database.url, Path(data), None)
            try:
                results["nexus_image"] = measure("nexus_image", served, served.seed(), script, args)
            finally:
                served.close()
    finally:
        database.drop()

    ratios = {
        target: round(
            results["nexus_image"][target]["requests_per_s"] / results["floor"][target]["requests_per_s"], 3
        )
        for target in ("health", "get", "post")
    }
    print(
        json.dumps(
            {
                "date": datetime.now(UTC).date().isoformat(),
                "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
                "duration_s": args.duration,
                "connections": args.connections,
                "semantic_moderation": args.semantic,
                "results": results,
                "ratios_api_over_floor": ratios,
                "errors": {side: sum(r["errors"] for r in runs.values()) for side, runs in results.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
