"""Stage 2 of the worker: jobs grouped by batch key render together, with their starting
images read through the storage retry; between steps the watch keeps the leases, stops once no
job is ours, and tells watchers how far it got."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image

from nexus_image.application.errors import GenerationInterrupted, NotFound, QueueUnavailable
from nexus_image.application.ports import RenderSpec
from nexus_image.application.process_job import RenderBatch, StepWatch
from nexus_image.application.process_job.render import batches
from nexus_image.domain import GenerationProgress
from nexus_image.domain.job import ImageJob
from tests.unit.conftest import World


def stage(world: World) -> RenderBatch:
    return world.service.worker.render


def started(world: World, **request: Any) -> ImageJob:
    job = world.service.worker.claim.start(world.request(**request).id)
    assert isinstance(job, ImageJob)
    return job


def upload(world: World) -> str:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (90, 90, 0)).save(out, format="PNG")
    return world.service.uploads.upload("alice", out.getvalue()).id


def test_jobs_are_grouped_by_batch_key_in_the_order_keys_first_appear(world: World) -> None:
    a, b = started(world, seed=1), started(world, seed=2, resolution="768x768")
    c = started(world, seed=3, prompt="another prompt, same shape")
    assert [[job.id for job in group] for group in batches([a, b, c])] == [[a.id, c.id], [b.id]]


def test_a_text_to_image_spec_is_the_jobs_parameters(world: World) -> None:
    job = started(world)
    assert stage(world).spec(job) == RenderSpec.of(job.parameters)


def test_a_starting_image_is_read_through_the_storage_retry(world: World) -> None:
    job = started(world, init_image_id=upload(world), strength=0.5)
    render = stage(world)
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        world.storage.available = True

    render.retry.sleep = sleep
    world.storage.available = False
    spec = render.spec(job)
    assert spec.init_image is not None and spec.init_image.width == job.parameters.width
    assert waited == [0.0]


def test_a_worker_without_a_decoder_cannot_read_starting_images(world: World) -> None:
    job = started(world, init_image_id=upload(world), strength=0.5)
    render = stage(world)
    render.decoder = None
    with pytest.raises(NotFound):
        render.spec(job)


def test_a_group_renders_as_one_batch_where_the_generator_can(world: World) -> None:
    jobs = [started(world, seed=1), started(world, seed=2)]
    render = stage(world)
    specs = [render.spec(job) for job in jobs]
    assert len(render.render(jobs, specs, jobs)) == 2
    assert [len(call) for call in world.generator.calls] == [2]
    render.batch_generator = None
    assert len(render.render(jobs, specs, jobs)) == 2
    assert [len(call) for call in world.generator.calls] == [2, 1, 1]


def test_rendering_stops_between_steps_once_no_job_is_ours(world: World) -> None:
    job = started(world)
    render = stage(world)
    render.pacing.ownership_every = timedelta(0)
    world.service.cancel("alice", job.id)
    with pytest.raises(GenerationInterrupted):
        render.render([job], [render.spec(job)], [job])


def test_the_watch_tells_the_first_and_last_step_and_previews_only_now_and_then(world: World) -> None:
    job = started(world)
    watch = StepWatch(stage(world), [job], [job])
    assert watch(1, 4) and watch(2, 4) and watch(4, 4)
    assert [e.step for e in world.live if isinstance(e, GenerationProgress)] == [1, 4]
    assert not watch.wants_preview(2, 4)  # no time passed since the watch began
    world.clock.advance(seconds=0.5)
    assert watch.wants_preview(2, 4) and not watch.wants_preview(4, 4)  # never for the last step
    stage(world).pacing.previews = False
    assert not watch.wants_preview(2, 4)


def test_live_progress_that_cannot_be_published_changes_nothing(world: World) -> None:
    class Down:
        def publish(self, event: object) -> None:
            raise QueueUnavailable("broker down")

    job = started(world)
    render = stage(world)
    render.live_events = Down()
    assert StepWatch(render, [job], [job])(1, 4)
