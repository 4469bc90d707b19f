"""Stage 3 of the worker: a rendered image is checked, encoded with its metadata, stored and
its job COMPLETED; any failure makes the job FAILED with one refund; a job no longer ours is
left alone and nothing of it is kept."""

from __future__ import annotations

import json
import time
from typing import Any

from nexus_image.adapters.imaging import read_png_metadata
from nexus_image.application.ports import RawImage
from nexus_image.application.process_job import FinishImage, png_metadata
from nexus_image.domain.job import ImageJob
from nexus_image.domain.png_parameters import automatic1111
from nexus_image.testing import ScriptedImageChecker
from tests.unit.conftest import World

RAW = RawImage(64, 64, bytes(64 * 64 * 3))


def stage(world: World) -> FinishImage:
    return world.service.worker.finish


def started(world: World, **request: Any) -> ImageJob:
    job = world.service.worker.claim.start(world.request(**request).id)
    assert isinstance(job, ImageJob)
    return job


def test_the_png_metadata_is_every_parameter_then_the_job_the_model_and_the_prompts_seen(
    world: World,
) -> None:
    job = started(world, prompt="a lighthouse", seed=9, style="anime")
    meta = png_metadata(job, "sd-test")
    params = job.parameters.to_dict()
    assert "model" in params  # a declared parameter: the model that drew it, in its place
    assert list(meta) == [
        *params,
        "job_id",
        "styled_prompt",
        "styled_negative_prompt",
        "parameters",
        "a1111_parameters",
    ]
    assert automatic1111(meta["a1111_parameters"]).parameters["seed"] == 9  # type: ignore[union-attr]
    assert meta["seed"] == "9" and meta["prompt"] == "a lighthouse" and meta["model"] == "sd-test"
    assert (meta["styled_prompt"], meta["styled_negative_prompt"]) == job.parameters.styled_prompts()
    assert meta["parameters"] == json.dumps({**params, "model": "sd-test"}, sort_keys=True)
    assert all(isinstance(value, str) for value in meta.values())


def test_a_finished_image_is_stored_with_its_thumbnail_and_the_job_completed(world: World) -> None:
    job = started(world, seed=9)
    outcome = stage(world)(job, RAW, time.perf_counter())
    assert (outcome.status, outcome.detail) == ("COMPLETED", "")
    png, _ = world.service.images.content("alice", job.id)
    assert read_png_metadata(png) == png_metadata(job, world.generator.model_name)
    assert len(world.storage.objects) == 2
    assert world.balance() == 95


def test_an_image_of_a_job_no_longer_ours_is_not_kept(world: World) -> None:
    job = started(world)
    world.service.cancel("alice", job.id)
    outcome = stage(world)(job, RAW, time.perf_counter())
    assert (outcome.status, outcome.detail) == ("CANCELLED", "no longer ours")
    assert world.storage.objects == {}
    assert world.balance() == 100


def test_a_storage_outage_is_retried_then_fails_the_job_with_a_refund(world: World) -> None:
    job = started(world)
    waited: list[float] = []
    stage(world).retry.sleep = waited.append
    world.storage.available = False
    outcome = stage(world)(job, RAW, time.perf_counter())
    assert outcome.status == "FAILED" and outcome.detail.startswith("storing the image failed")
    assert waited == [0.0, 0.0]  # the world's two retry delays
    assert world.storage.objects == {} and world.balance() == 100


def test_a_flagged_image_fails_its_job_where_unsafe_outputs_are_blocked(world: World) -> None:
    job = started(world)
    finish = stage(world)
    finish.safety, finish.block_unsafe = ScriptedImageChecker(flag=True), True
    outcome = finish(job, RAW, time.perf_counter())
    assert outcome.status == "FAILED"
    assert world.storage.objects == {} and world.balance() == 100


def test_a_broken_output_check_fails_the_job_rather_than_letting_the_image_through(world: World) -> None:
    job = started(world)
    stage(world).safety = ScriptedImageChecker(fail=RuntimeError("detector crashed"))
    outcome = stage(world)(job, RAW, time.perf_counter())
    assert outcome.status == "FAILED" and "output check failed" in outcome.detail
    assert world.storage.objects == {}


def test_a_job_fails_once_and_one_settled_elsewhere_is_left_alone(world: World) -> None:
    job = started(world)
    finish = stage(world)
    assert finish.fail(job, "the model broke", time.perf_counter()).status == "FAILED"
    assert world.balance() == 100 and world.ledger_sum() == 100
    again = finish.fail(job, "the model broke", time.perf_counter())
    assert (again.status, again.detail) == ("FAILED", "already settled elsewhere")
    assert world.balance() == 100 and world.ledger_sum() == 100


def test_an_abandoned_job_reports_what_settled_it(world: World) -> None:
    job = started(world)
    world.service.cancel("alice", job.id)
    outcome = stage(world).abandoned(job)
    assert (outcome.status, outcome.detail) == ("CANCELLED", "stopped between steps")
