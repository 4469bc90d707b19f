"""Several images per request and variation seeds on the production path: an API replica's
request for a group goes through the outbox and Kafka to a `nexus-image worker` process running
the real (tiny) diffusers pipeline; each image is generated with its own seed, every setting is
recorded in its PNG, and a full-strength variation is exactly the variation seed's own image."""

from __future__ import annotations

import io
import urllib.request

import numpy as np
import pytest
from PIL import Image

from nexus_image.application.dto import GenerateImage
from nexus_image.entrypoints.composition import Application
from tests.support.cluster import USER, Cluster, all_in, assert_nothing_lost_nothing_charged_twice, wait_for

pytestmark = pytest.mark.integration


def image_of(api: Application, job_id: str) -> Image.Image:
    view = api.service.get_image(USER, job_id)
    assert view.storage_url is not None
    with urllib.request.urlopen(view.storage_url, timeout=10) as response:
        data: bytes = response.read()
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_group_with_a_variation_is_generated_by_a_worker_process(cluster: Cluster) -> None:
    api = cluster.api()
    worker = cluster.start_worker("gpu-0", "--max-batch", "4")
    asked = GenerateImage(
        user_id=USER, prompt="a lighthouse at dawn", steps=2, seed=42, num_images=3,
        variation_seed=7, variation_strength=1.0,
    )  # fmt: skip
    views, created = api.service.submit_images(asked)
    plain = [
        api.service.request_generation(
            GenerateImage(user_id=USER, prompt="a lighthouse at dawn", steps=2, seed=s)
        )
        for s in (7, 8, 9)
    ]
    jobs = [v.id for v in views] + [p.id for p in plain]
    assert created and [v.parameters.seed for v in views] == [42, 42, 42]
    assert [v.parameters.variation_seed for v in views] == [7, 8, 9]  # three variations of one image
    assert len({v.group_id for v in views}) == 1 and views[0].group_id is not None

    wait_for(all_in(api, jobs, "COMPLETED"), 180, "the group to complete", cluster.worker_logs)
    images = [image_of(api, job) for job in jobs]
    for view, image in zip(views, images, strict=False):
        text = image.text  # type: ignore[attr-defined]
        assert (text["seed"], text["variation_strength"]) == ("42", "1.0")
        assert text["variation_seed"] == str(view.parameters.variation_seed)
    # Strength 1: each variation starts from its variation seed's noise, as that seed's plain
    # image does (the default scheduler adds no noise of its own): the same picture.
    pixels = [np.asarray(image.convert("RGB"), dtype=np.int16) for image in images]
    for varied, same in zip(pixels[:3], pixels[3:], strict=True):
        assert np.abs(varied - same).mean() < 1.0
    assert np.abs(pixels[0] - pixels[1]).mean() > 5.0  # and the variations differ from each other
    assert worker.terminate() == 0, worker.log()
    assert_nothing_lost_nothing_charged_twice(api, jobs)
