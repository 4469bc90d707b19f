"""Outbox relay throughput: events committed in PostgreSQL, published to a Kafka-protocol broker
(Tansu) with acks=all and idempotence, one broker wait per event vs one per batch.

    PYTHONPATH=src:. python benchmarks/relay.py --events 5000

Creates a throwaway database on the local PostgreSQL (postgresql://postgres@127.0.0.1:5432),
writes `--events` GenerationRequested rows to the outbox, drains them with the relay, and
prints events per second for both ways, in one run."""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from tests.support.tansu import TansuBroker

from nexus_image.adapters.kafka import KafkaEventPublisher, Topics, ensure_topics
from nexus_image.adapters.sqlalchemy import SqlDatabase, create_engine_for, migrate
from nexus_image.adapters.system import SystemClock
from nexus_image.application.relay import RelayOutbox
from nexus_image.domain.events import GenerationRequested

SERVER = "postgresql://postgres@127.0.0.1:5432"


def fill(database: SqlDatabase, count: int, prefix: str) -> None:
    now = datetime.now(UTC)
    for start in range(0, count, 1000):
        with database.unit_of_work() as uow:
            for n in range(start, min(count, start + 1000)):
                uow.outbox.add(
                    GenerationRequested(
                        event_id=f"{prefix}-{n}",
                        job_id=f"{prefix}-job-{n % 997}",
                        user_id="bench",
                        occurred_at=now,
                    )
                )
            uow.commit()


def drain(relay: RelayOutbox) -> tuple[int, float]:
    began = time.perf_counter()
    sent = relay.drain()
    return sent, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    name = f"nexus_relay_bench_{secrets.token_hex(4)}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    folder = Path(tempfile.mkdtemp())
    broker = TansuBroker(folder)
    broker.start()
    engine = create_engine_for(url)
    results: dict[str, Any] = {"events": args.events, "batch_size": args.batch_size}
    try:
        migrate(url)
        database = SqlDatabase(engine)
        topics = Topics(f"bench{secrets.token_hex(3)}.")
        ensure_topics(broker.client_config(), topics.all(), partitions=6)
        publisher = KafkaEventPublisher(broker.client_config(), topics, timeout=30.0)
        for way, batch in (("one_wait_per_event", None), ("one_wait_per_batch", publisher)):
            fill(database, args.events, way)
            relay = RelayOutbox(
                database.unit_of_work,
                publisher,
                SystemClock(),
                batch_size=args.batch_size,
                batch_publisher=batch,
            )
            sent, seconds = drain(relay)
            results[way] = {"sent": sent, "seconds": round(seconds, 2), "events_per_s": round(sent / seconds)}
        results["speed_up"] = round(
            results["one_wait_per_batch"]["events_per_s"] / results["one_wait_per_event"]["events_per_s"], 1
        )
        publisher.close()
    finally:
        engine.dispose()
        broker.stop()
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
