"""Webhook throughput: outbox events routed to deliveries, and deliveries sent to a receiver on
loopback that takes `--receiver-ms` to answer, one at a time vs `--parallel` at once.

    PYTHONPATH=src:. python benchmarks/webhooks.py --events 2000 --receiver-ms 20

Creates a throwaway database on the local PostgreSQL (postgresql://postgres@127.0.0.1:5432),
gives 50 users one endpoint each (on a ThreadingHTTPServer in this process, allowed through
the operator's setting), commits `--events` GenerationCompleted events to the outbox, routes
them (RouteWebhookEvents.drain) and sends them (DeliverWebhooks.drain, signed, real HTTP) twice:
sequentially and in parallel. Prints events/s, deliveries/s and the parallel/sequential ratio."""

from __future__ import annotations

import argparse
import json
import secrets
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg

from nexus_image.adapters.httpclient.webhooks import HttpWebhookSender
from nexus_image.adapters.sqlalchemy import SqlDatabase, create_engine_for, migrate
from nexus_image.adapters.system import SystemClock
from nexus_image.application.webhook_endpoints import ManageWebhooks
from nexus_image.application.webhooks import DeliverWebhooks, RouteWebhookEvents
from nexus_image.domain.events import GenerationCompleted
from nexus_image.domain.webhooks import DestinationPolicy, RetrySchedule

SERVER = "postgresql://postgres@127.0.0.1:5432"
USERS = 50


class Ids:
    def new_id(self) -> str:
        return secrets.token_hex(8)


def receiver(delay: float) -> tuple[ThreadingHTTPServer, list[int]]:
    got: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            time.sleep(delay)
            got.append(1)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, got


def fill(database: SqlDatabase, count: int, prefix: str) -> None:
    now = datetime.now(UTC)
    with database.unit_of_work() as uow:
        for n in range(count):
            uow.outbox.add(
                GenerationCompleted(
                    event_id=f"{prefix}-{n}",
                    job_id=f"{prefix}-job-{n}",
                    user_id=f"user-{n % USERS}",
                    occurred_at=now,
                    image_key=f"images/{n}.png",
                    duration_seconds=1.0,
                )
            )
        uow.commit()


def run(database: SqlDatabase, events: int, parallel: int, prefix: str) -> dict[str, float]:
    clock, policy = SystemClock(), DestinationPolicy.parse("127.0.0.0/8")
    fill(database, events, prefix)
    route = RouteWebhookEvents(database.unit_of_work, clock, Ids(), batch_size=200)
    began = time.perf_counter()
    made = route.drain()
    routed = time.perf_counter() - began
    deliver = DeliverWebhooks(
        database.unit_of_work,
        clock,
        HttpWebhookSender(policy),
        RetrySchedule(),
        batch_size=50,
        parallel=parallel,
    )
    began = time.perf_counter()
    sent = deliver.drain()
    delivered = time.perf_counter() - began
    return {
        "events_per_s": events / routed,
        "deliveries": made,
        "attempts": sent,
        "deliveries_per_s": sent / delivered,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--receiver-ms", type=float, default=20.0)
    parser.add_argument("--parallel", type=int, default=8)
    args = parser.parse_args()
    name = f"bench_webhooks_{secrets.token_hex(4)}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    engine = create_engine_for(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    server, _ = receiver(args.receiver_ms / 1000)
    try:
        migrate(engine)
        database = SqlDatabase(engine)
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        manage = ManageWebhooks(
            database.unit_of_work, SystemClock(), Ids(), DestinationPolicy.parse("127.0.0.0/8")
        )
        for user in range(USERS):
            manage.create(f"user-{user}", url, ["generation.completed"])
        one = run(database, args.events, 1, "seq")
        many = run(database, args.events, args.parallel, "par")
        print(
            json.dumps(
                {
                    "receiver_ms": args.receiver_ms,
                    "sequential": one,
                    f"parallel_{args.parallel}": many,
                    "ratio": round(many["deliveries_per_s"] / one["deliveries_per_s"], 2),
                },
                indent=2,
            )
        )
    finally:
        server.shutdown()
        engine.dispose()
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
