"""How many requests a second the HTTP API serves, and at what latency, under `wrk`.

    apt-get install wrk
    PYTHONPATH=src:. .venv/bin/python benchmarks/api_load.py
    PYTHONPATH=src:. .venv/bin/python benchmarks/api_load.py --duration 30 --connections 32
    PYTHONPATH=src:. .venv/bin/python benchmarks/api_load.py --workers 2
    PYTHONPATH=src:. .venv/bin/python benchmarks/api_load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/nexus

`nexus-image serve` runs in a child process, API only (NEXUS_IMAGE_EMBEDDED_WORKER=false: the
jobs it accepts stay QUEUED), against PostgreSQL: a fresh database created on the local server
(`postgresql://postgres@127.0.0.1:5432`, trust auth), migrated with `nexus-image db upgrade` and
dropped at the end, unless `--database-url` names an existing one. One job is seeded by POST so
that GET has an id. Then `wrk -t2 -cN -dDs --latency`, in its own process, loads in turn:
GET /health (no auth), GET /api/v1/images/{id} and POST /api/v1/images/generate (a bearer JWT),
and last POST again over one connection (`-t1 -c1`) for the unloaded latency. The figures are
wrk's: requests/s and the 50/90/99% latencies in ms; `errors` counts non-2xx/3xx responses and
socket errors (a POST run with errors hit the rate limit or the balance: its figures mean
little). The ratios are req/s over the /health req/s of the same run. `--workers N` is passed to
serve only when given; `--profile DIR` records the server with py-spy during each run
(`pip install py-spy`; summarise with benchmarks/profile_top.py)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
from tests.support.servers import free_port

from benchmarks.serving import wait_ready

SECRET = "api-load-benchmark-secret-0123456789abcdefghijkl"  # 48 characters
SERVER = "postgresql://postgres@127.0.0.1:5432"
BODY = {"prompt": "a lighthouse at dawn", "steps": 2}
# Each request is sent as the next of `--users` users (a real service has many; one user's
# requests queue on that user's rate-limit and account rows, by design).
POST_LUA = """wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
local tokens = {{{tokens}}}
local n = 0
request = function()
  n = n + 1
  wrk.headers["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1]
  return wrk.format(nil, nil, wrk.headers)
end
"""
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def cli(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def to_ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value)
    if match is None:
        raise ValueError(f"not a wrk duration: {value!r}")
    return float(match[1]) * UNITS_MS[match[2]]


def parse_wrk(output: str) -> dict[str, Any]:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    requests = re.search(r"^\s*(\d+) requests in", output, re.M)
    if rps is None or requests is None:
        raise SystemExit(f"could not read wrk's output:\n{output}")
    latency = {
        f"p{q}_ms": round(to_ms(v), 3) for q, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)$", output, re.M)
    }
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    socket_errors = sum(int(n) for n in sockets.groups()) if sockets else 0
    non_2xx_count = int(non_2xx[1]) if non_2xx else 0
    return {
        "requests_per_s": float(rps[1]),
        **latency,
        "requests": int(requests[1]),
        "non_2xx": non_2xx_count,
        "socket_errors": socket_errors,
        "errors": non_2xx_count + socket_errors,
    }


class Database:
    """A fresh PostgreSQL database on the local server, or the one given (left as it is)."""

    def __init__(self, url: str | None) -> None:
        self.name: str | None = None
        if url is not None:
            self.url = url
            return
        name = f"nexus_bench_{os.getpid()}_{int(time.time())}"
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.name = name
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

    def upgrade(self) -> None:
        env = {**os.environ, "NEXUS_IMAGE_DATABASE_URL": self.url, "HF_HUB_OFFLINE": "1"}
        done = subprocess.run([cli("nexus-image"), "db", "upgrade"], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"nexus-image db upgrade failed:\n{done.stdout}{done.stderr}")

    def drop(self) -> None:
        if self.name is None:
            return
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.name = None


def user_token(user: str) -> str:
    return jwt.encode({"sub": user, "exp": int(time.time()) + 30 * 86400}, SECRET, algorithm="HS256")


class Served:
    """`nexus-image serve`, API only, in a child process."""

    def __init__(self, database_url: str, data: Path, workers: int | None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "NEXUS_IMAGE_DATABASE_URL": database_url,
            "NEXUS_IMAGE_EMBEDDED_WORKER": "false",
            "NEXUS_IMAGE_DATA_DIR": str(data),
            "NEXUS_IMAGE_JWT_SECRET": SECRET,
            "NEXUS_IMAGE_WELCOME_TOKENS": "100000000",
            "NEXUS_IMAGE_RATE_LIMIT_PER_MINUTE": "100000000",
            "NEXUS_IMAGE_LOG_JSON": "true",
            "NEXUS_IMAGE_IMAGE_SAFETY": "none",
            "HF_HUB_OFFLINE": "1",
        }
        self.command = [cli("nexus-image"), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if workers is not None:
            self.command += ["--workers", str(workers)]
        self.log_path = data / "serve.log"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(self.command, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.token = user_token("bench")
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self.client = httpx.Client(base_url=self.base, headers=self.headers, timeout=60)
        wait_ready(self.client, self.process, self.log_path, 120)

    def tail(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

    def seed(self) -> str:
        response = self.client.post("/api/v1/images/generate", json=BODY)
        if response.status_code != 201:
            raise SystemExit(f"seeding POST answered {response.status_code}: {response.text}")
        job_id: str = response.json()["id"]
        if self.client.get(f"/api/v1/images/{job_id}").status_code != 200:
            raise SystemExit(f"GET of the seeded job {job_id} failed")
        return job_id

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.client.close()
        self.log.close()


def wrk(
    url: str, threads: int, connections: int, duration: int, headers: dict[str, str], script: Path | None
) -> dict[str, Any]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "30s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    done = subprocess.run([*command, url], capture_output=True, text=True, timeout=duration + 120)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return parse_wrk(done.stdout)


def profiler(folder: Path | None, name: str, pid: int, duration: int) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the server (every thread, idle ones too: waiting on the database shows)
    for the run's duration, as collapsed stacks; summarise with benchmarks/profile_top.py."""
    if folder is None:
        return None
    spy = shutil.which("py-spy") or cli("py-spy")
    folder.mkdir(parents=True, exist_ok=True)
    command = [spy, "record", "--pid", str(pid), "--duration", str(duration), "--rate", "200"]
    command += ["--format", "raw", "--idle", "--nonblocking", "--output", str(folder / f"{name}.txt")]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--users", type=int, default=64, help="POST as this many users in turn (default 64)")
    parser.add_argument("--workers", type=int, default=None, help="passed to serve as --workers N")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="a folder: py-spy records the server during each run there (NAME.txt, collapsed stacks)",
    )
    parser.add_argument(
        "--database-url", default=None, help="an existing, migrated database (default: a fresh one, dropped)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    threads = min(2, args.connections)
    results: dict[str, dict[str, Any]] = {}
    database = Database(args.database_url)
    try:
        if args.database_url is None:
            database.upgrade()
        with tempfile.TemporaryDirectory() as data:
            served = Served(database.url, Path(data), args.workers)
            try:
                job_id = served.seed()
                script = Path(data) / "post.lua"
                tokens = ", ".join(f'"{user_token(f"bench-{i}")}"' for i in range(args.users))
                script.write_text(POST_LUA.format(body=json.dumps(BODY), tokens=tokens))
                for _ in range(20):  # warm-up: connections, caches, first-request costs
                    served.client.get("/health")
                    served.client.get(f"/api/v1/images/{job_id}")
                c = args.connections
                runs: list[tuple[str, str, int, int, dict[str, str], Path | None]] = [
                    ("health", "/health", threads, c, {}, None),
                    ("get", f"/api/v1/images/{job_id}", threads, c, served.headers, None),
                    ("post", "/api/v1/images/generate", threads, c, {}, script),
                    ("post_single", "/api/v1/images/generate", 1, 1, {}, script),
                ]
                for name, path, t, conns, headers, lua in runs:
                    spy = profiler(args.profile, name, served.process.pid, args.duration)
                    results[name] = {
                        "threads": t,
                        "connections": conns,
                        **wrk(served.base + path, t, conns, args.duration, headers, lua),
                    }
                    if spy is not None:
                        spy.wait(60)
                    if served.process.poll() is not None:
                        raise SystemExit(f"serve exited during the {name} run: {served.tail()}")
                command = served.command
            finally:
                served.close()
    finally:
        database.drop()

    health = results["health"]["requests_per_s"]
    warnings = [
        f"{name}: {r['errors']} errors (non-2xx {r['non_2xx']}, socket {r['socket_errors']}): "
        "rate limit or balance? its figures mean little"
        for name, r in results.items()
        if r["errors"]
    ]
    output: dict[str, Any] = {
        "duration_s": args.duration,
        "connections": args.connections,
        "workers": args.workers,
        "users": args.users,
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        "serve_command": " ".join(command),
        "targets": results,
        "ratios": {
            "post_vs_health": round(results["post"]["requests_per_s"] / health, 3),
            "get_vs_health": round(results["get"]["requests_per_s"] / health, 3),
        },
        "errors": sum(r["errors"] for r in results.values()),
        "warnings": warnings,
    }
    print(json.dumps(output, indent=2))


if __name__ == "__main__":
    main()
