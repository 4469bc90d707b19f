"""Several images per request and variation seeds on the production path: an API replica's
request for a group goes through the outbox and Kafka to a `nexus-image worker` process running
the real (tiny) diffusers pipeline; each image is generated with its own seed, every setting is
recorded in its PNG, and a full-strength variation is exactly the variation seed's own image.
Uploads, image to image, inpainting and LoRA adapters take the same path."""

from __future__ import annotations

import io
import json
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nexus_image.adapters.diffusers.tiny import build_tiny_pipeline, save_random_lora
from nexus_image.application.dto import GenerateImage
from nexus_image.domain.parameters import LoraWeight
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
    views, created = api.service.request.submit(asked)
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


def png_of(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array.astype("uint8"), "RGB").save(out, format="PNG")
    return out.getvalue()


def test_img2img_inpainting_and_a_lora_are_generated_by_a_worker_process(
    cluster: Cluster, tmp_path: Path
) -> None:
    """Uploads kept in S3 by the API replica, read back by a worker process that repaints them
    (and, inside a mask only); a LoRA file in the operator's folder changes the image."""
    folder = tmp_path / "loras"
    save_random_lora(build_tiny_pipeline(), folder / "grain.safetensors", seed=3)
    api = cluster.api(lora_dir=folder)
    worker = cluster.start_worker("gpu-0", "--max-batch", "4", lora_dir=folder)
    init = np.zeros((512, 512, 3), dtype=np.uint8)
    init[:, :, 0] = np.arange(512)[None, :] // 2  # a red ramp, easy to recognise
    mask = np.zeros((512, 512, 3), dtype=np.uint8)
    mask[128:384, 128:384] = 255  # repaint the centre only
    start = api.service.uploads.upload(USER, png_of(init))
    hole = api.service.uploads.upload(USER, png_of(mask))
    base = {"user_id": USER, "prompt": "a lighthouse at dawn", "steps": 4, "seed": 5}
    jobs = [
        api.service.request_generation(GenerateImage(**base, init_image_id=start.id, strength=0.5)).id,  # type: ignore[arg-type]
        api.service.request_generation(
            GenerateImage(**base, init_image_id=start.id, mask_image_id=hole.id, strength=1.0)  # type: ignore[arg-type]
        ).id,
        api.service.request_generation(GenerateImage(**base)).id,  # type: ignore[arg-type]
        api.service.request_generation(GenerateImage(**base, loras=(LoraWeight("grain", 1.0),))).id,  # type: ignore[arg-type]
    ]
    wait_for(all_in(api, jobs, "COMPLETED"), 180, "the jobs to complete", cluster.worker_logs)
    img2img, inpainted, plain, adapted = (
        np.asarray(image_of(api, j).convert("RGB"), dtype=np.int16) for j in jobs
    )
    assert np.abs(img2img - init).mean() > 1.0  # repainted
    outside = np.ones((512, 512), dtype=bool)
    outside[128:384, 128:384] = False
    assert np.abs(inpainted[outside] - init[outside]).max() <= 1  # kept where the mask is black
    assert np.abs(inpainted[~outside] - init[~outside]).mean() > 5.0  # repainted inside
    assert np.abs(adapted - plain).mean() > 0.5  # the adapter changes the image
    text = image_of(api, jobs[1]).text  # type: ignore[attr-defined]
    assert (text["init_image_id"], text["mask_image_id"], text["strength"]) == (start.id, hole.id, "1.0")
    assert json.loads(image_of(api, jobs[3]).text["loras"]) == [{"name": "grain", "weight": 1.0}]  # type: ignore[attr-defined]
    assert worker.terminate() == 0, worker.log()
    assert_nothing_lost_nothing_charged_twice(api, jobs)
