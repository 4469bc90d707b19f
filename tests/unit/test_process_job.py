"""The worker side: generate, store, complete; or fail and refund exactly once."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image

from nexus_image.adapters.imaging import read_png_metadata
from nexus_image.application.ports import RawImage, RenderSpec
from nexus_image.domain import (
    GenerationCompleted,
    GenerationFailed,
    GenerationProgress,
    GenerationStarted,
)
from tests.support.driver import hand_out

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
    hand_out(world.service)
    events = [type(e).__name__ for e in world.queue.events]
    assert events[-2:] == ["GenerationStarted", "GenerationCompleted"]
    progress = [e for e in world.live if isinstance(e, GenerationProgress)]
    assert [p.step for p in progress] == [1, 4]  # no time passed: the first step and the last
    assert world.balance() == 90


def test_generator_failure_fails_the_job_and_refunds_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Its owner reads a category and a reference; the error itself (which may name files,
    keys, hosts) is in the log under that reference."""
    job = world.request()
    world.generator.fail_with = MemoryError("CUDA out of memory opening /srv/models/loras/secret.safetensors")
    with caplog.at_level(logging.WARNING):
        assert world.run_queue() == ["FAILED"]
    view = world.service.get_image("alice", job.id)
    shown = re.fullmatch(r"generation failed \(reference (\w+)\)", view.failure_reason or "")
    assert view.status == "FAILED" and shown is not None, view.failure_reason
    logged = [r.getMessage() for r in caplog.records if shown.group(1) in r.getMessage()]
    assert len(logged) == 1 and "/srv/models/loras/secret.safetensors" in logged[0]
    assert world.balance() == 100 and world.ledger_sum() == 100
    assert world.service.process(job.id).status == "SKIPPED"  # a late duplicate changes nothing
    assert world.balance() == 100
    hand_out(world.service)
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

    world.service.worker.finish.retry.sleep = sleep
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
    hand_out(world.service)
    world.service.worker.render.pacing.ownership_every = timedelta(0)  # look at every step
    world.service.worker.render.pacing.progress_every = timedelta(0)
    seen: list[int] = []

    class CancelAtThree:
        def publish(self, event: object) -> None:
            if isinstance(event, GenerationProgress):
                seen.append(event.step)
                if event.step == 3:
                    world.service.cancel("alice", job.id)

    world.service.worker.render.live_events = CancelAtThree()
    outcome = world.service.process(job.id)
    assert outcome.status == "CANCELLED"
    assert seen == [1, 2, 3]
    assert world.storage.objects == {}
    assert world.balance() == 100 and world.ledger_sum() == 100


def paced(world: World, seconds: float, on_each: Callable[[int], None] = lambda step: None) -> None:
    """The generator's steps take `seconds` each on the world's clock; `on_each(step)` runs
    before the worker's step callback."""
    generator = world.service.worker.render.generator
    original = generator.generate_batch  # type: ignore[attr-defined]

    def slow(specs: list[RenderSpec], on_step: Callable[[int, int], bool]) -> list[RawImage]:
        def step(done: int, total: int) -> bool:
            world.clock.advance(seconds=seconds)
            on_each(done)
            return on_step(done, total)

        result: list[RawImage] = original(specs, step)
        return result

    generator.generate_batch = slow  # type: ignore[attr-defined]


class Steps:
    def __init__(self) -> None:
        self.seen: list[int] = []

    def publish(self, event: object) -> None:
        if isinstance(event, GenerationProgress):
            self.seen.append(event.step)


class _CountedJobs:
    def __init__(self, jobs: Any, reads: list[list[str]]) -> None:
        self._jobs, self._reads = jobs, reads

    def list_by_ids(self, job_ids: list[str]) -> Any:
        self._reads.append(list(job_ids))
        return self._jobs.list_by_ids(job_ids)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._jobs, name)


class _CountedUnit:
    def __init__(self, uow: Any, reads: list[list[str]]) -> None:
        self._uow, self.jobs = uow, _CountedJobs(uow.jobs, reads)

    def __enter__(self) -> _CountedUnit:
        self._uow.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._uow.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)


def counting_reads(factory: Callable[[], Any], reads: list[list[str]]) -> Callable[[], Any]:
    """`factory`'s units of work, recording every `jobs.list_by_ids` (the ownership reads)."""
    return lambda: _CountedUnit(factory(), reads)


def test_steps_read_ownership_once_a_second_and_publish_progress_four_times_a_second(world: World) -> None:
    job = world.request(steps=20)
    hand_out(world.service)
    worker = world.service.worker
    reads: list[list[str]] = []
    worker.claim.uow_factory = counting_reads(worker.claim.uow_factory, reads)  # the ownership reads
    paced(world, 0.1)  # 2 s for the image
    worker.render.live_events = steps = Steps()
    assert world.service.process(job.id).status == "COMPLETED"
    assert len(reads) == 2  # at 1 s and at the last step (2 s): not one query per step
    assert steps.seen[0] == 1 and steps.seen[-1] == 20
    assert 7 <= len(steps.seen) <= 10  # about every 0.25 s, with the first and the last


def test_a_cancel_is_seen_within_a_second_of_generation(world: World) -> None:
    job = world.request(steps=40)
    hand_out(world.service)
    ran: list[int] = []

    def cancel_at_five(step: int) -> None:
        ran.append(step)
        if step == 5:
            world.service.cancel("alice", job.id)

    paced(world, 0.1, cancel_at_five)
    assert world.service.process(job.id).status == "CANCELLED"
    assert ran[-1] <= 5 + 10  # stopped within the next second of steps, long before step 40
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
    hand_out(world.service)
    kinds = [type(e) for e in world.queue.events]
    assert kinds.index(GenerationStarted) < kinds.index(GenerationCompleted)


def _upload(world: World, shade: int = 90) -> str:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (shade, shade, 0)).save(out, format="PNG")
    return world.service.uploads.upload("alice", out.getvalue()).id


def test_a_starting_image_read_during_a_storage_outage_is_retried_not_failed(world: World) -> None:
    job = world.request(init_image_id=_upload(world), strength=0.5)
    world.storage.available = False
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        world.storage.available = True  # back after the first retry delay

    world.service.worker.finish.retry.sleep = sleep
    assert world.run_queue() == ["COMPLETED"]
    assert len(waited) == 1 and world.generator.calls[-1][0].init_image is not None
    assert world.service.get_image("alice", job.id).status == "COMPLETED"


def test_a_starting_image_gone_for_good_fails_only_its_job_with_a_refund(world: World) -> None:
    gone = _upload(world)
    kept = world.request(init_image_id=_upload(world, 200), strength=0.5)
    lost = world.request(init_image_id=gone, strength=0.5)
    world.service.uploads.delete("alice", gone)
    assert sorted(world.run_queue()) == ["COMPLETED", "FAILED"]
    assert world.service.get_image("alice", lost.id).failure_reason.startswith("reading the starting image")  # type: ignore[union-attr]
    assert world.service.get_image("alice", kept.id).status == "COMPLETED"
    assert world.balance() == 95


def test_the_stages_share_one_claim_and_one_storage_retry(world: World) -> None:
    worker = world.service.worker
    assert worker.render.claim is worker.claim and worker.finish.claim is worker.claim
    assert worker.render.retry is worker.finish.retry
    assert tuple(worker.finish.retry.delays) == (0.0, 0.0)  # as the container was told
