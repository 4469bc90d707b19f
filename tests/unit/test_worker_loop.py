"""The worker loop: dynamic batching, poison messages, retries; and the worker process."""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

import pytest

from nexus_image.application.errors import DatabaseUnavailable, QueueUnavailable
from nexus_image.application.ports import Delivery
from nexus_image.entrypoints.settings import Settings
from nexus_image.entrypoints.worker import RecoveryLoop, RelayLoop, WorkerLoop
from nexus_image.entrypoints.worker.process import WorkerProcess
from nexus_image.testing import PatternGenerator
from tests.support.driver import hand_out

from .conftest import World


class ScriptedQueue:
    """Hands out prepared batches in order; records acknowledgements; can fail on purpose."""

    def __init__(self, batches: list[list[Delivery]], ack_failures: int = 0) -> None:
        self.batches = batches
        self.asked: list[int] = []
        self.acked: list[Delivery] = []
        self.ack_failures = ack_failures
        self.receive_failures = 0

    def receive(self, max_items: int, timeout: float) -> list[Delivery]:
        self.asked.append(max_items)
        if self.receive_failures:
            self.receive_failures -= 1
            raise QueueUnavailable("broker away")
        return self.batches.pop(0)[:max_items] if self.batches else []

    def acknowledge(self, delivery: Delivery) -> None:
        if self.ack_failures:
            self.ack_failures -= 1
            raise QueueUnavailable("commit failed")
        self.acked.append(delivery)


def queued(world: World, count: int) -> list[Delivery]:
    """`count` jobs requested and dispatched: their deliveries, as the transport hands them out."""
    ids = [world.request(seed=i).id for i in range(count)]
    assert world.service.dispatcher.execute(room=count) == count
    return [Delivery(job_id, i) for i, job_id in enumerate(ids)]


def loop(world: World, queue: ScriptedQueue, **options: object) -> WorkerLoop:
    """A loop that finishes each batch before it returns (one iteration, one whole outcome);
    the pipelined one is tested on its own below."""
    options.setdefault("pipelined", False)
    return WorkerLoop(
        world.service.worker,
        queue,
        poll_seconds=0.01,
        backoff_seconds=(0.001, 0.01),
        **options,  # type: ignore[arg-type]
    )


class HeldStorage:
    """Storage whose uploads wait until `release` is set, recording the order of keys."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.release = threading.Event()
        self.uploading = threading.Event()
        self.keys: list[str] = []

    def put(self, key: str, *args: object) -> object:
        self.uploading.set()
        assert self.release.wait(10), "never released"
        self.keys.append(key)
        return self.inner.put(key, *args)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_the_next_batch_generates_while_the_last_one_is_being_finished(world: World) -> None:
    d = queued(world, 3)
    queue = ScriptedQueue([[d[0]], [d[1]], [d[2]]])
    storage = HeldStorage(world.service.worker.finish.storage)
    world.service.worker.finish.storage = storage  # type: ignore[assignment]
    worker = loop(world, queue, pipelined=True)
    assert worker.run_once() == 1
    assert storage.uploading.wait(5)  # the first image is being finished on the other thread
    done = threading.Event()

    def second() -> None:
        worker.run_once()
        done.set()

    thread = threading.Thread(target=second, daemon=True)
    thread.start()
    # The second batch is generated although the first is still held in its upload ...
    pause = threading.Event()
    for _ in range(500):
        if len(world.generator.calls) == 2:
            break
        pause.wait(0.01)
    assert len(world.generator.calls) == 2
    assert done.wait(5)  # the second iteration did not wait for the first batch's finishing
    assert world.service.get_image("alice", d[0].job_id).status == "PROCESSING"
    assert queue.acked == []  # ... and nothing is acknowledged before its batch is finished
    # A third batch waits: at most one batch is being finished while another generates.
    third = threading.Thread(target=worker.run_once, daemon=True)
    third.start()
    third.join(0.3)
    assert third.is_alive() and len(world.generator.calls) == 2
    storage.release.set()
    third.join(10)
    assert not third.is_alive() and len(world.generator.calls) == 3
    worker._settle(wait_until=0)
    assert [a.job_id for a in queue.acked] == [x.job_id for x in d]  # in order
    assert {world.service.get_image("alice", x.job_id).status for x in d} == {"COMPLETED"}
    assert worker.processed == 3


class MetricsDownOnce:
    """Metrics whose first `generation_finished` raises: a finishing step that fails after
    the outcome was saved, as when the database answers the commit and then drops."""

    def __init__(self, inner: object) -> None:
        self.inner, self.failed = inner, False

    def generation_finished(self, *args: object) -> None:
        if not self.failed:
            self.failed = True
            raise DatabaseUnavailable("database went away")
        self.inner.generation_finished(*args)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_a_batch_whose_finishing_failed_is_taken_again_and_then_acknowledged(world: World) -> None:
    [job] = queued(world, 1)
    queue = ScriptedQueue([[job]])
    world.service.worker.finish.metrics = MetricsDownOnce(world.service.worker.finish.metrics)  # type: ignore[assignment]
    worker = loop(world, queue, pipelined=True)
    worker.run_once()
    with pytest.raises(Exception, match="could not be finished"):
        worker._settle(wait_until=0)
    assert queue.acked == []
    assert worker._pending == [job]  # taken again on the next iteration ...
    worker.run_once()
    worker._settle(wait_until=0)
    assert queue.acked == [job]  # ... skipped as already settled, and acknowledged
    assert world.service.get_image("alice", job.job_id).status == "COMPLETED"


def test_a_batch_fills_up_within_the_wait_and_runs_as_one(world: World) -> None:
    d = queued(world, 4)
    queue = ScriptedQueue([[d[0]], [d[1], d[2]], [d[3]]])
    worker = loop(world, queue, max_batch=3, batch_wait_seconds=1.0)
    assert worker.run_once() == 3
    assert queue.asked == [3, 2]  # never more than the batch has room for
    assert [len(call) for call in world.generator.calls] == [3]
    assert {world.service.get_image("alice", x.job_id).status for x in d[:3]} == {"COMPLETED"}
    assert queue.acked == d[:3]


def test_no_wait_means_no_batching_beyond_what_is_ready(world: World) -> None:
    d = queued(world, 2)
    queue = ScriptedQueue([[d[0]], [d[1]]])
    worker = loop(world, queue, max_batch=4, batch_wait_seconds=0.0)
    assert worker.run_once() == 1
    assert worker.run_once() == 1
    assert [len(call) for call in world.generator.calls] == [1, 1]


def test_poison_messages_are_acknowledged_without_running(world: World) -> None:
    [good] = queued(world, 1)
    poison = Delivery("", "p", problem="not JSON")
    unknown = Delivery("no-such-job", "u")
    queue = ScriptedQueue([[poison, unknown, good]])
    worker = loop(world, queue, max_batch=3)
    assert worker.run_once() == 3
    assert queue.acked == [poison, unknown, good]
    assert [len(call) for call in world.generator.calls] == [1]
    assert world.service.get_image("alice", good.job_id).status == "COMPLETED"


def test_a_failed_iteration_keeps_its_deliveries_and_retries_them(world: World) -> None:
    d = queued(world, 2)
    queue = ScriptedQueue([d])
    real = world.service.worker.claim.uow_factory
    down = {"left": 1}

    def flaky():
        if down["left"]:
            down["left"] -= 1
            raise DatabaseUnavailable("connection refused")
        return real()

    world.service.worker.claim.uow_factory = flaky
    worker = loop(world, queue, max_batch=2)
    with pytest.raises(DatabaseUnavailable):
        worker.run_once()
    assert queue.acked == []
    assert worker.run_once() == 2  # the same deliveries, not new ones
    assert queue.asked == [2]
    assert queue.acked == d
    assert {world.service.get_image("alice", x.job_id).status for x in d} == {"COMPLETED"}
    assert world.ledger_sum() == world.balance() == 90


def test_acknowledgement_is_retried_then_given_up(world: World) -> None:
    d = queued(world, 2)
    queue = ScriptedQueue([[d[0]], [d[1]]], ack_failures=2)
    worker = loop(world, queue, ack_attempts=3)
    worker.run_once()
    assert queue.acked == [d[0]]
    queue.ack_failures = 5
    worker.run_once()  # never acknowledged: the outcome is durable, a redelivery skips the job
    assert queue.acked == [d[0]]
    assert world.service.get_image("alice", d[1].job_id).status == "COMPLETED"


def test_run_survives_a_queue_outage_with_backoff(world: World) -> None:
    [d] = queued(world, 1)
    queue = ScriptedQueue([[d]])
    queue.receive_failures = 3
    worker = loop(world, queue)
    thread = threading.Thread(target=worker.run)
    thread.start()
    for _ in range(500):
        if queue.acked:
            break
        threading.Event().wait(0.01)
    worker.stop_event.set()
    thread.join(5)
    assert queue.acked == [d]
    assert len(queue.asked) >= 4


def test_worker_process_runs_relay_worker_and_metrics(tmp_path: Path) -> None:
    from tests.support.servers import free_port

    port = free_port()
    settings = Settings(data_dir=tmp_path, worker_metrics_port=port, max_batch=2, lease_seconds=10)
    process = WorkerProcess(settings, "w-test", generator=PatternGenerator())
    thread = threading.Thread(target=process.run, kwargs={"install_signals": False})
    thread.start()
    try:
        assert process.ready.wait(30)
        assert process.app is not None
        service = process.app.service
        from nexus_image.application import GenerateImage

        job = service.request_generation(GenerateImage(user_id="u", prompt="a cat", steps=2))
        for _ in range(500):
            if service.get_image("u", job.id).status == "COMPLETED":
                break
            threading.Event().wait(0.01)
        assert service.get_image("u", job.id).status == "COMPLETED"
        assert service.worker.claim.lease.total_seconds() == 10
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
        assert "image_generation_requests_total" in text
        assert 'image_generation_finished_total{outcome="completed"} 1.0' in text
        assert "image_generation_queue_size 0.0" in text
    finally:
        process.stop()
        thread.join(10)
    assert not thread.is_alive()


def test_a_batch_of_poison_only_runs_nothing(world: World) -> None:
    poison = [Delivery("", i, problem="not JSON") for i in range(2)]
    queue = ScriptedQueue([poison])
    assert loop(world, queue, max_batch=2).run_once() == 2
    assert queue.acked == poison
    assert world.generator.calls == []


def test_filling_a_batch_stops_when_the_queue_fails(world: World) -> None:
    [d] = queued(world, 1)

    class FailsSecond(ScriptedQueue):
        def receive(self, max_items: int, timeout: float) -> list[Delivery]:
            if self.asked:
                self.asked.append(max_items)
                raise QueueUnavailable("broker away")
            return super().receive(max_items, timeout)

    queue = FailsSecond([[d]])
    assert loop(world, queue, max_batch=4, batch_wait_seconds=1.0).run_once() == 1
    assert queue.acked == [d]


def test_relay_and_recovery_loops_survive_errors_and_requeue_stalled_jobs(world: World) -> None:
    job = world.request()
    hand_out(world.service)
    [delivery] = world.queue.receive(1, 0)
    world.service.worker.claim.start(job.id)  # a worker took it, then died
    world.clock.advance(minutes=11)

    broken = {"left": 2}
    real = world.service.relay.uow_factory

    def flaky():
        if broken["left"]:
            broken["left"] -= 1
            raise DatabaseUnavailable("connection refused")
        return real()

    world.service.relay.uow_factory = flaky
    world.service.recover.uow_factory = flaky
    relay = RelayLoop(world.service.relay, idle_seconds=0.01)
    recovery = RecoveryLoop(world.service.recover, every_seconds=0.01)
    threads = [threading.Thread(target=x.run) for x in (relay, recovery)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(500):
            if world.service.get_image(
                "alice", job.id
            ).status == "QUEUED" and not world.store.unit_of_work().outbox.pending(1):
                break
            threading.Event().wait(0.01)
    finally:
        relay.stop_event.set()
        recovery.stop_event.set()
        for thread in threads:
            thread.join(5)
    assert not world.store.unit_of_work().outbox.pending(1)  # relayed, despite the failures
    hand_out(world.service)  # re-queued: dispatched again in its turn
    assert world.queue.size() == 1
    assert world.service.get_image("alice", job.id).status == "QUEUED"
    world.queue.acknowledge(delivery)
