"""A soak with faults: the distributed deployment under a steady mix of clients while a fault
schedule runs, then a checker that proves nothing was lost, charged twice or left behind.

    PYTHONPATH=src:. .venv/bin/python benchmarks/soak.py --duration 180
    PYTHONPATH=src:. .venv/bin/python benchmarks/soak.py --duration 1800 --report /tmp/soak.json

The deployment: two `nexus-image serve` API processes, two worker processes (the pattern
generator with a delay per image in place of a model: the same process, loops, Kafka consumer,
storage and database code), two standalone dispatchers, on a fresh PostgreSQL database, a Tansu
broker and an S3 server (moto) of its own. Clients (threads, several users) send, over both
APIs in turn: generate with an Idempotency-Key (sent again with the same key after any failure
to get an answer), several images at once, some waiting for their images (`Prefer: wait`), some
remixing one of theirs, some from an uploaded image (image to image); cancel, delete, and read
their images. Each user has a live-event stream that reconnects with Last-Event-ID, and a
webhook endpoint for completions on a receiver of the soak's own.

The faults, in turn, every `--fault-every` seconds: a worker SIGKILLed (and started again), an
API process SIGKILLed (and started again), the broker and the object store each cut off (every
connection to it cut and new ones refused, through a TCP proxy: both keep their data in memory
and would lose it if restarted, which real ones do not), every database connection terminated,
a dispatcher SIGKILLed (and started again). An outage lasts `--outage` seconds.

The checker, once the faults stop and every job has ended (within `--settle` seconds):
- every accepted request became exactly its images (a retry with its key gave the same ids);
- every job is terminal;
- per user, the balance is the ledger's sum, each job debited once and refunded at most once
  (exactly when it failed, was cancelled or expired);
- every COMPLETED image has its object and its thumbnail;
- after the orphan sweep, no object is left that no row names;
- no 5xx answer, except 503 with Retry-After while a fault was on (and a few seconds after);
- every completion reached its user's live stream (live, or in the snapshot a reconnection gets)
  and its user's webhook endpoint.

It prints one JSON report; the exit status is 1 when the checker found anything."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
from PIL import Image
from tests.support.cluster import Cluster, WorkerHandle, cluster_fields
from tests.support.moto import MotoServer
from tests.support.servers import free_port
from tests.support.tansu import TansuBroker

from nexus_image.adapters.kafka import Topics, ensure_topics
from nexus_image.adapters.minio import S3ObjectStorage
from nexus_image.adapters.sqlalchemy import SqlDatabase, create_engine_for, migrate
from nexus_image.application.orphans import SweepOrphans
from nexus_image.domain.account import EntryKind
from nexus_image.domain.job import JobStatus

SECRET = "soak-secret-that-is-long-enough-0123456789"
GRACE_AFTER_FAULT = 8.0  # seconds after a fault in which a 503 is still expected
FAULTS = ("worker", "api", "broker", "storage", "database", "dispatcher")


class GatedTansu(TansuBroker):
    """The broker, reached through a Gate: it advertises the gate's port, so every client's
    connection (bootstrap and after) goes through it and can be cut."""

    def __init__(self, log_dir: Path) -> None:
        super().__init__(log_dir)
        self.gate = Gate(self.port)

    def command(self) -> Sequence[str]:
        command = list(super().command())
        command[command.index("--advertised-listener-url") + 1] = f"tcp://127.0.0.1:{self.gate.port}"
        return command

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.gate.port}"


class Gate:
    """A TCP proxy in front of a server that can be shut like an outage: while shut, every
    connection through it is cut and new ones are refused, and the server keeps its data (an S3
    server in memory would lose every object if it were restarted instead)."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.port = free_port()
        self.shut = threading.Event()
        self.lock = threading.Lock()
        self.open_sockets: set[socket.socket] = set()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.shut.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open_sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()
            with self.lock:
                self.open_sockets.difference_update((source, sink))

    def close_for(self, seconds: float) -> None:
        self.shut.set()
        with self.lock:
            cut = list(self.open_sockets)
        for end in cut:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
        time.sleep(seconds)
        self.shut.clear()


def token(user: str) -> str:
    return jwt.encode({"sub": user, "exp": int(time.time()) + 86400}, SECRET, algorithm="HS256")


@dataclass
class Record:
    """What the clients saw, shared by every thread under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    accepted: dict[str, list[str]] = field(default_factory=dict)  # idempotency key -> image ids
    replays: list[tuple[str, list[str]]] = field(default_factory=list)  # key, ids a retry got
    users: dict[str, str] = field(default_factory=dict)  # image id -> user
    answers: list[tuple[float, str, int, bool]] = field(
        default_factory=list
    )  # at, route, status, retry-after
    faults: list[tuple[str, float, float]] = field(default_factory=list)  # name, from, to
    heard: dict[str, set[str]] = field(default_factory=dict)  # user -> job ids heard completed
    hooked: set[str] = field(default_factory=set)  # job ids a webhook said completed
    crashes: list[str] = field(default_factory=list)  # what stopped a client thread
    kinds: dict[str, int] = field(default_factory=dict)  # requests for images, by kind

    def sent(self, kind: str) -> None:
        with self.lock:
            self.kinds[kind] = self.kinds.get(kind, 0) + 1

    requests: int = 0

    def answer(self, route: str, response: httpx.Response) -> None:
        with self.lock:
            self.requests += 1
            self.answers.append(
                (time.monotonic(), route, response.status_code, "retry-after" in response.headers)
            )


class Receiver(ThreadingHTTPServer):
    """The webhook receiver: notes the image of every `generation.completed` it is sent."""

    daemon_threads = True

    def __init__(self, record: Record) -> None:
        self.record = record
        super().__init__(("127.0.0.1", 0), _Hook)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Hook(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with contextlib.suppress(ValueError, KeyError, TypeError):
            message = json.loads(body)
            if message["type"] == "generation.completed":
                with self.server.record.lock:
                    self.server.record.hooked.add(str(message["data"]["image_id"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def _png() -> bytes:
    picture = io.BytesIO()
    Image.new("RGB", (64, 64), (90, 140, 200)).save(picture, format="PNG")
    return picture.getvalue()


class Soak:
    def __init__(self, server: str, tmp: Path, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = tmp
        self.rng = random.Random(args.seed)
        self.record = Record()
        self.stop = threading.Event()
        self.server = server
        self.database = self._create_database()
        migrate(self.database)
        self.broker = GatedTansu(tmp)
        self.broker.start()
        self.s3 = MotoServer(tmp)
        self.s3.start()
        self.s3_gate = Gate(self.s3.port)
        s3_endpoint = f"http://127.0.0.1:{self.s3_gate.port}"
        self.prefix = f"soak{uuid.uuid4().hex[:8]}."
        self.bucket = f"soak-{uuid.uuid4().hex[:12]}"
        ensure_topics(self.broker.client_config(), Topics(self.prefix).all(), partitions=4)
        fields = cluster_fields(
            database_url=self.database, bootstrap=self.broker.bootstrap, prefix=self.prefix,
            s3_endpoint=s3_endpoint, bucket=self.bucket, model="", tmp=tmp,
        )  # fmt: skip
        fields.update(
            jwt_secret=SECRET, rate_limit_per_minute=100_000, lease_seconds=6, image_safety="none",
            welcome_tokens=10_000_000,
            moderation_semantic=False, webhook_allowed_networks="127.0.0.0/8",
        )  # fmt: skip
        self.cluster = Cluster(fields, tmp)
        self.ports = [free_port(), free_port()]
        self.apis: list[WorkerHandle] = [self._api(i) for i in range(2)]
        self.workers: list[WorkerHandle] = [self._worker(i) for i in range(2)]
        self.dispatchers: list[WorkerHandle] = [self._dispatcher(i) for i in range(2)]
        self.users = [f"soak-{i}" for i in range(args.users)]
        for port in self.ports:
            self._wait_ready(port)
        self.receiver = Receiver(self.record)
        self.picture = _png()
        for user in self.users:
            body = {"url": self.receiver.url, "events": ["generation.completed"]}
            made = self._send("POST", "/api/v1/webhooks/endpoints", user, json=body)
            if made is None or made.status_code != 201:
                raise SystemExit(f"no webhook endpoint for {user}: {made and made.text}")

    # --- the deployment -----------------------------------------------------------------------
    def _create_database(self) -> str:
        name = f"nexus_soak_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(f"{self.server}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        self.database_name = name
        return f"{self.server.replace('postgresql://', 'postgresql+psycopg://')}/{name}"

    def _api(self, index: int) -> WorkerHandle:
        return self.cluster.start_api(f"a{index}", self.ports[index])

    def _worker(self, index: int) -> WorkerHandle:
        args = ("--delay", str(self.args.image_seconds), "--max-batch", "2")
        return self.cluster.start_worker(
            f"w{index}-{uuid.uuid4().hex[:4]}", *args, module="tests.support.pattern_worker", dispatcher=False
        )

    def _dispatcher(self, index: int) -> WorkerHandle:
        return self.cluster.start_dispatcher(f"d{index}-{uuid.uuid4().hex[:4]}")

    def _wait_ready(self, port: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"the API on {port} did not start:\n{self.cluster.worker_logs()}")

    def close(self) -> None:
        if hasattr(self, "receiver"):
            self.receiver.shutdown()
        self.cluster.close()
        self.broker.stop()
        self.s3.stop()
        with psycopg.connect(f"{self.server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)')

    # --- the faults ---------------------------------------------------------------------------
    def _fault(self, name: str) -> None:
        began = time.monotonic()
        outage = self.args.outage
        if name == "worker":
            index = self.rng.randrange(len(self.workers))
            self.workers[index].kill()
            time.sleep(outage)
            self.workers[index] = self._worker(index)
        elif name == "api":
            index = self.rng.randrange(len(self.apis))
            self.apis[index].kill()
            time.sleep(outage / 2)
            self.apis[index] = self._api(index)
            self._wait_ready(self.ports[index])
        elif name == "dispatcher":
            index = self.rng.randrange(len(self.dispatchers))
            self.dispatchers[index].kill()
            time.sleep(outage / 2)
            self.dispatchers[index] = self._dispatcher(index)
        elif name == "broker":
            self.broker.gate.close_for(outage)
        elif name == "storage":
            self.s3_gate.close_for(outage)
        elif name == "database":
            with psycopg.connect(f"{self.server}/postgres", autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.database_name,),
                )
        with self.record.lock:
            self.record.faults.append((name, began, time.monotonic()))

    def faults(self) -> None:
        turn = 0
        while not self.stop.wait(self.args.fault_every):
            self._fault(FAULTS[turn % len(FAULTS)])
            turn += 1
            if turn == len(FAULTS):
                self.every_fault_done.set()

    # --- the clients --------------------------------------------------------------------------
    def _base(self) -> str:
        return f"http://127.0.0.1:{self.rng.choice(self.ports)}"

    def _send(self, method: str, route: str, user: str, **kwargs: Any) -> httpx.Response | None:
        headers = {"Authorization": f"Bearer {token(user)}", **kwargs.pop("headers", {})}
        try:
            response = httpx.request(method, self._base() + route, headers=headers, timeout=20, **kwargs)
        except httpx.TransportError:
            return None  # the API process is gone: the client tries again
        self.record.answer(route.split("?")[0].rsplit("/", 1)[0] if "/images/" in route else route, response)
        return response

    def _request(self, user: str, mine: list[str]) -> None:
        """A request for images, of one of the kinds a client sends."""
        body: dict[str, Any] = {"prompt": f"a soak test {self.rng.random():.6f}", "steps": 2}
        roll = self.rng.random()
        if roll < 0.2 and mine:  # one of theirs again, with another seed
            self.record.sent("remix")
            route = f"/api/v1/images/{self.rng.choice(mine)}/remix"
            self._generate(user, route, {"seed": self.rng.randrange(2**32)})
        elif roll < 0.35:  # from a picture of theirs
            self.record.sent("from an upload")
            upload = self._upload(user)
            if upload is not None:
                body.update(init_image_id=upload, strength=0.6)
                self._generate(user, "/api/v1/images/generate", body)
        else:
            body["num_images"] = self.rng.choice((1, 1, 2))
            waits = roll < 0.55  # for its images (or 3 s)
            self.record.sent("generate, waiting" if waits else "generate")
            self._generate(user, "/api/v1/images/generate", body, {"Prefer": "wait=3"} if waits else {})

    def _upload(self, user: str) -> str | None:
        for _ in range(30):
            files = {"file": ("picture.png", self.picture, "image/png")}
            response = self._send("POST", "/api/v1/uploads", user, files=files)
            if response is not None and response.status_code == 201:
                upload_id: str = response.json()["upload_id"]
                return upload_id
            if response is not None and response.status_code < 500 and response.status_code != 429:
                return None
            time.sleep(0.5)
        return None

    def _generate(
        self, user: str, route: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        key = uuid.uuid4().hex
        got: list[str] | None = None
        for attempt in range(30):
            response = self._send(
                "POST", route, user, json=body, headers={"Idempotency-Key": key, **(headers or {})}
            )
            if response is not None and response.status_code == 201:
                ids = [image["id"] for image in response.json()["images"]]
                with self.record.lock:
                    if got is None:
                        got = ids
                        self.record.accepted[key] = ids
                        self.record.users.update(dict.fromkeys(ids, user))
                    else:
                        self.record.replays.append((key, ids))
                if attempt == 0 and self.rng.random() < 0.2:
                    continue  # a client that sends again although it was answered
                break
            if response is not None and response.status_code < 500 and response.status_code != 429:
                break  # refused for good (e.g. the balance): no job, nothing to retry
            time.sleep(0.5)

    def client(self, user: str) -> None:
        try:
            self._client(user)
        except Exception as error:  # the checker reports it: a client that stopped proves nothing
            with self.record.lock:
                self.record.crashes.append(f"{user}'s client stopped: {error!r}")

    def _client(self, user: str) -> None:
        while not self.stop.is_set():
            roll = self.rng.random()
            with self.record.lock:
                mine = [i for i, u in self.record.users.items() if u == user]
            if roll < 0.6 or not mine:
                self._request(user, mine)
            elif roll < 0.75:
                self._send("POST", f"/api/v1/images/{self.rng.choice(mine)}/cancel", user)
            elif roll < 0.85:
                self._send("DELETE", f"/api/v1/images/{self.rng.choice(mine)}", user)
            else:
                self._send("GET", f"/api/v1/images/{self.rng.choice(mine)}", user)
            time.sleep(self.args.think)

    def listener(self, user: str) -> None:
        """The user's live events, over either API, reconnecting with Last-Event-ID."""
        last: str | None = None
        while not self.stop.is_set() or not self._all_heard(user):
            headers = {"Authorization": f"Bearer {token(user)}", **({"Last-Event-ID": last} if last else {})}
            try:
                with httpx.stream(
                    "GET", self._base() + "/api/v1/events", headers=headers, timeout=30
                ) as stream:
                    name = ""
                    for line in stream.iter_lines():
                        if line.startswith("id:"):
                            last = line[3:].strip() or last
                        elif line.startswith("event:"):
                            name = line[6:].strip()
                        elif line.startswith("data:") and name == "completed":
                            job = json.loads(line[5:])["job_id"]
                            with self.record.lock:
                                self.record.heard.setdefault(user, set()).add(job)
                        if self.stop.is_set() and self._all_heard(user):
                            return
            except (httpx.TransportError, httpx.HTTPStatusError, json.JSONDecodeError):
                time.sleep(0.5)
            if self.done_listening.is_set():
                return
            last = last or "0"

    def _all_heard(self, user: str) -> bool:
        completed = self.completed_of.get(user)
        return completed is not None and completed <= self.record.heard.get(user, set())

    # --- the run ------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        self.completed_of: dict[str, set[str]] = {}
        self.done_listening = threading.Event()
        threads = [threading.Thread(target=self.client, args=(u,), daemon=True) for u in self.users]
        listeners = [threading.Thread(target=self.listener, args=(u,), daemon=True) for u in self.users]
        fault_thread = threading.Thread(target=self.faults, daemon=True)
        self.every_fault_done = threading.Event()
        started = time.monotonic()
        for thread in (*listeners, *threads, fault_thread):
            thread.start()
        time.sleep(self.args.duration)
        # A slow machine takes longer to bring killed processes back: the clients go on until
        # every kind of fault has happened once, whatever the duration asked.
        self.every_fault_done.wait(len(FAULTS) * (self.args.fault_every + 60))
        self.stop.set()
        for thread in (*threads, fault_thread):
            thread.join(120)
        last_fault = max((end for _, _, end in self.record.faults), default=started)
        settled = self._settle()
        report = self.check(settled, time.monotonic() - last_fault, listeners)
        report["duration_s"] = round(time.monotonic() - started, 1)
        return report

    def _settle(self) -> float:
        """Seconds until every job ended after the clients stopped (the bound the checker keeps)."""
        began = time.monotonic()
        engine = create_engine_for(self.database)
        try:
            while time.monotonic() - began < self.args.settle:
                with SqlDatabase(engine).unit_of_work() as uow:
                    counts = uow.jobs.count_by_status((JobStatus.QUEUED, JobStatus.PROCESSING))
                if not any(counts.values()):
                    return time.monotonic() - began
                time.sleep(1)
        finally:
            engine.dispose()
        return float("inf")

    def check(self, settled: float, since_fault: float, listeners: list[threading.Thread]) -> dict[str, Any]:
        record = self.record
        problems: list[str] = list(record.crashes)
        engine = create_engine_for(self.database)
        storage = S3ObjectStorage(self.s3.endpoint, "test-key", "test-secret", self.bucket)
        database = SqlDatabase(engine)
        try:
            for key, ids in record.replays:
                if record.accepted.get(key) != ids:
                    problems.append(
                        f"key {key}: a retry got {ids}, the first answer {record.accepted.get(key)}"
                    )
            accepted = [i for ids in record.accepted.values() for i in ids]
            with database.unit_of_work() as uow:
                jobs = {j.id: j for j in uow.jobs.list_by_ids(accepted)}
                deleted = set(accepted) - set(jobs)
                ledger = {u: uow.accounts.entries(u) for u in self.users}
                balances = {u: uow.accounts.get(u) for u in self.users}
            for job in jobs.values():
                if not job.status.is_terminal:
                    problems.append(
                        f"job {job.id} is {job.status.value} {settled:.0f} s after the clients stopped"
                    )
            status_counts: dict[str, int] = {}
            for job in jobs.values():
                status_counts[job.status.value] = status_counts.get(job.status.value, 0) + 1
            for user in self.users:
                entries = ledger[user]
                account = balances[user]
                if account is not None and account.balance != sum(e.amount for e in entries):
                    problems.append(f"{user}: balance {account.balance} is not the ledger's sum")
                charged: dict[str, int] = {}
                refunded: dict[str, int] = {}
                for entry in entries:
                    if entry.job_id is None:
                        continue
                    if entry.kind is EntryKind.DEBIT:
                        charged[entry.job_id] = charged.get(entry.job_id, 0) + 1
                    elif entry.kind is EntryKind.REFUND:
                        refunded[entry.job_id] = refunded.get(entry.job_id, 0) + 1
                for job_id in (i for i in accepted if record.users.get(i) == user):
                    if charged.get(job_id) != 1:
                        problems.append(f"job {job_id}: charged {charged.get(job_id, 0)} times")
                    if refunded.get(job_id, 0) > 1:
                        problems.append(f"job {job_id}: refunded {refunded[job_id]} times")
                    row = jobs.get(job_id)
                    if row is not None and row.refund_due and refunded.get(job_id, 0) != 1:
                        problems.append(f"job {job_id} ({row.status.value}): not refunded")
                for job_id in charged:
                    if job_id not in record.users:
                        problems.append(f"{user}: job {job_id} charged but never answered to a client")
            for job in jobs.values():
                if job.status is JobStatus.COMPLETED and not job.data_removed:
                    for stored in (job.image_key, job.thumbnail_key):
                        if stored is None or storage.keys(stored, 1) != [stored]:
                            problems.append(f"job {job.id}: object {stored} missing")
            sweep = SweepOrphans(database.unit_of_work, storage, Later(timedelta(hours=2)), batch_size=200)
            swept = sweep.execute()
            left = sweep.execute()
            if left.removed:
                problems.append(f"{left.removed} objects without a row after the sweep")
            windows = [(start, end + GRACE_AFTER_FAULT) for _, start, end in record.faults]
            errors = [a for a in record.answers if a[2] >= 500]
            for at, route, status, retry_after in errors:
                inside = any(start <= at <= end for start, end in windows)
                if not (status == 503 and retry_after and inside):
                    problems.append(
                        f"{status} on {route} (Retry-After: {retry_after}, in a fault window: {inside})"
                    )
            self.completed_of = {
                u: {
                    j.id
                    for j in jobs.values()
                    if record.users.get(j.id) == u and j.status is JobStatus.COMPLETED
                }
                for u in self.users
            }
            for thread in listeners:
                thread.join(60)
            self.done_listening.set()
            for user, completed in self.completed_of.items():
                unheard = completed - record.heard.get(user, set())
                if unheard:
                    problems.append(
                        f"{user}: {len(unheard)} completions never reached the live stream "
                        f"(for example {', '.join(sorted(unheard)[:3])})"
                    )
            completed = set().union(*self.completed_of.values())
            deadline = time.monotonic() + 60  # webhooks retry on a schedule of their own
            while time.monotonic() < deadline and not completed <= record.hooked:
                time.sleep(1)
            unhooked = completed - record.hooked
            if unhooked:
                problems.append(
                    f"{len(unhooked)} completions never reached their webhook "
                    f"(for example {', '.join(sorted(unhooked)[:3])})"
                )
        finally:
            engine.dispose()
        faults: dict[str, int] = {}
        for name, _, _ in record.faults:
            faults[name] = faults.get(name, 0) + 1
        return {
            "date": datetime.now(UTC).date().isoformat(),
            "requests": record.requests,
            "accepted_requests": len(record.accepted),
            "images": len(accepted),
            "images_deleted_by_clients": len(deleted),
            "replays": len(record.replays),
            "requests_for_images": record.kinds,
            "webhooks_heard": len(record.hooked),
            "statuses": status_counts,
            "faults": faults,
            "settled_after_s": round(settled, 1),
            "last_fault_to_settled_s": round(since_fault, 1),
            "errors_5xx": len(errors),
            "orphans_swept": swept.removed,
            "problems": problems[:50],
            "problem_count": len(problems),
        }


@dataclass
class Later:
    """A clock: real time, moved on by `ahead` (the orphan sweep's, seeing objects as old)."""

    ahead: timedelta = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--duration", type=float, default=180, help="seconds of load and faults (default 180)"
    )
    parser.add_argument("--fault-every", type=float, default=12, help="seconds between faults (default 12)")
    parser.add_argument("--outage", type=float, default=3, help="seconds a stopped server stays down")
    parser.add_argument("--settle", type=float, default=150, help="seconds every job has to end after")
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--think", type=float, default=0.3, help="seconds between a client's requests")
    parser.add_argument("--image-seconds", type=float, default=0.2, help="what a generation takes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--report", type=Path, default=None, help="also write the report here")
    return parser.parse_args(argv)


def soak(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    run = Soak(args.server, tmp, args)
    try:
        return run.run()
    finally:
        run.close()


def main() -> None:
    args = parse()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    with tempfile.TemporaryDirectory() as tmp:
        report = soak(args, Path(tmp))
    text = json.dumps(report, indent=2)
    print(text)
    if args.report is not None:
        args.report.write_text(text)
    sys.exit(1 if report["problem_count"] else 0)


if __name__ == "__main__":
    main()
