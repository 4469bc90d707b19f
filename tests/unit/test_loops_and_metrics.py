from __future__ import annotations

import threading

from prometheus_client import generate_latest

from nexus_image.adapters.prometheus import PrometheusMetrics, QueueGauges
from nexus_image.adapters.system import SoleLeadership
from nexus_image.entrypoints.worker import RecoveryLoop, RelayLoop, WorkerLoop
from nexus_image.entrypoints.worker.loops import DispatcherLoop

from .conftest import World


def test_scheduler_relay_and_worker_loops_drain_the_queue(world: World) -> None:
    jobs = [world.request(seed=i) for i in range(3)]
    world.service.queue.seat("w", 2, None)
    dispatcher = DispatcherLoop(world.service.dispatcher, SoleLeadership(), idle_seconds=0.01)
    relay = RelayLoop(world.service.relay, idle_seconds=0.01)
    worker = WorkerLoop(world.service.worker, world.queue, max_batch=2, poll_seconds=0.01)
    threads = [threading.Thread(target=loop.run) for loop in (dispatcher, relay, worker)]
    for thread in threads:
        thread.start()
    deadline = threading.Event()
    for _ in range(200):
        if worker.processed >= 3:
            break
        deadline.wait(0.02)
    relay.stop_event.set()
    worker.stop_event.set()
    dispatcher.stop_event.set()
    for thread in threads:
        thread.join(5)
    assert worker.processed == 3
    assert {world.service.get_image("alice", j.id).status for j in jobs} == {"COMPLETED"}


def test_recovery_loop_stops_when_told(world: World) -> None:
    loop = RecoveryLoop(world.service.recover, every_seconds=0.01)
    thread = threading.Thread(target=loop.run)
    thread.start()
    loop.stop_event.set()
    thread.join(2)
    assert not thread.is_alive()


def test_prometheus_series_follow_the_use_cases(world: World) -> None:
    metrics = PrometheusMetrics()
    world.service.request.metrics = metrics
    world.service.worker.finish.metrics = metrics
    gauges = QueueGauges(metrics, lambda: world.store.unit_of_work().jobs.count_by_status())
    world.request(resolution="768x768")
    world.request()
    gauges.refresh()
    text = generate_latest(metrics.registry).decode()
    assert "tokens_consumed_total 15.0" in text
    assert "image_generation_queue_size 2.0" in text
    world.generator.fail_with = RuntimeError("boom")
    world.run_queue()
    gauges.refresh()
    text = generate_latest(metrics.registry).decode()
    assert 'image_generation_failures_total{resolution="768x768"} 1.0' in text
    assert "image_generation_queue_size 0.0" in text
    assert 'image_generation_requests_total{resolution="512x512",style="realistic"} 1.0' in text
