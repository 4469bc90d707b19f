"""The worker side: generate, store, complete; or fail and refund exactly once."""

from __future__ import annotations

import io

from PIL import Image

from nexus_image.adapters.imaging import read_png_metadata
from nexus_image.domain import (
    GenerationCompleted,
    GenerationFailed,
    GenerationProgress,
    GenerationStarted,
)

from .conftest import World


def test_job_completes_with_image_thumbnail_and_events(world: World) -> None:
    job = world.request(resolution="768x768", seed=9, prompt="a lighthouse")
    assert world.run_queue() == ["COMPLETED"]
    view = world.service.get_image("alice", job.id)
    assert view.status == "COMPLETED" and view.completed_at is not None
    png, content_type = world.service.images.content("alice", job.id)
    assert content_type == "image/png"
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (768, 768)
    meta = read_png_metadata(png)
    assert (meta["seed"], meta["prompt"], meta["resolution"]) == ("9", "a lighthouse", "768x768")
    thumb, thumb_type = world.service.images.content("alice", job.id, thumbnail=True)
    assert thumb_type == "image/webp"
    with Image.open(io.BytesIO(thumb)) as small:
        assert max(small.size) == 256
    world.service.relay.drain()
    events = [type(e).__name__ for e in world.queue.events]
    assert events[-2:] == ["GenerationStarted", "GenerationCompleted"]
    progress = [e for e in world.live if isinstance(e, GenerationProgress)]
    assert [p.step for p in progress] == [1, 2, 3, 4]
    assert world.balance() == 90


def test_generator_failure_fails_the_job_and_refunds_once(world: World) -> None:
    job = world.request()
    world.generator.fail_with = MemoryError("CUDA out of memory")
    assert world.run_queue() == ["FAILED"]
    view = world.service.get_image("alice", job.id)
    assert view.status == "FAILED" and "out of memory" in (view.failure_reason or "")
    assert world.balance() == 100 and world.ledger_sum() == 100
    assert world.service.process(job.id).status == "SKIPPED"  # a late duplicate changes nothing
    assert world.balance() == 100
    world.service.relay.drain()
    failed = [e for e in world.queue.events if isinstance(e, GenerationFailed)]
    assert len(failed) == 1 and failed[0].refunded == 5


def test_storage_outage_is_retried_then_fails_with_refund(world: World) -> None:
    job = world.request()
    world.storage.available = False
    assert world.run_queue() == ["FAILED"]
    assert world.service.get_image("alice", job.id).failure_reason.startswith("storing the image failed")  # type: ignore[union-attr]
    assert world.balance() == 100
    assert world.storage.objects == {}


def test_storage_that_comes_back_during_retries_completes(world: World) -> None:
    job = world.request()
    world.storage.available = False
    attempts: list[float] = []

    def sleep(seconds: float) -> None:
        attempts.append(seconds)
        world.storage.available = True

    world.service.worker.sleep = sleep
    assert world.run_queue() == ["COMPLETED"]
    assert len(attempts) == 1
    assert world.service.get_image("alice", job.id).status == "COMPLETED"


def test_duplicate_delivery_is_skipped(world: World) -> None:
    job = world.request()
    world.run_queue()
    outcome = world.service.process(job.id)
    assert (outcome.status, outcome.detail) == ("SKIPPED", "already COMPLETED")
    assert len(world.generator.calls) == 1
    assert world.balance() == 95


def test_unknown_job_is_skipped_not_raised(world: World) -> None:
    assert world.service.process("nope").detail == "unknown job"


def test_cancel_during_generation_stops_at_next_step(world: World) -> None:
    job = world.request(steps=10)
    world.service.relay.drain()
    seen: list[int] = []

    class CancelAtThree:
        def publish(self, event: object) -> None:
            if isinstance(event, GenerationProgress):
                seen.append(event.step)
                if event.step == 3:
                    world.service.cancel("alice", job.id)

    world.service.worker.live_events = CancelAtThree()
    outcome = world.service.process(job.id)
    assert outcome.status == "CANCELLED"
    assert seen == [1, 2, 3]
    assert world.storage.objects == {}
    assert world.balance() == 100 and world.ledger_sum() == 100


def test_batch_runs_compatible_jobs_together(world: World) -> None:
    a = world.request(seed=1)
    b = world.request(seed=2, prompt="a blue whale")
    c = world.request(seed=3, resolution="768x768")
    outcomes = world.service.worker.execute_batch([a.id, b.id, c.id])
    assert [o.status for o in outcomes] == ["COMPLETED"] * 3
    assert sorted(len(call) for call in world.generator.calls) == [1, 2]
    img_a, _ = world.service.images.content("alice", a.id)
    img_b, _ = world.service.images.content("alice", b.id)
    assert img_a != img_b


def test_events_mark_start_then_outcome(world: World) -> None:
    world.request()
    world.run_queue()
    world.service.relay.drain()
    kinds = [type(e) for e in world.queue.events]
    assert kinds.index(GenerationStarted) < kinds.index(GenerationCompleted)
