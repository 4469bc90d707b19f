"""Live previews on the real diffusers code path (tiny pipeline): the worker's `processing`
events carry small WebP pictures made from the latents, for every image of a batch, each under
the size bound, never for the last step; none when previews are off. (Their pacing, at most one
per `preview_every`, is the unit tests' concern: here every step may have one, so that the test
does not depend on how fast this machine renders.)"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from nexus_image.adapters.diffusers import DiffusersGenerator, GeneratorOptions
from nexus_image.adapters.diffusers.generator import latent_previews
from nexus_image.adapters.imaging import PillowEncoder
from nexus_image.application.ports import RawImage
from nexus_image.domain.events import GenerationProgress
from nexus_image.entrypoints.composition import compose
from nexus_image.entrypoints.settings import Settings
from nexus_image.testing import InMemoryStorage, MemoryStore

pytestmark = pytest.mark.integration
STEPS = 8


class Collect:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def publish(self, event: Any) -> None:
        self.events.append(event)


@pytest.fixture(scope="module")
def generator(tiny_folder: Path, model_cache: Path) -> DiffusersGenerator:
    gen = DiffusersGenerator(GeneratorOptions(model=str(tiny_folder), cache_dir=model_cache, threads=2))
    gen.load()
    return gen


def run(
    generator: DiffusersGenerator, tmp_path: Path, previews: bool, count: int
) -> list[GenerationProgress]:
    from nexus_image.application.dto import GenerateImage

    live = Collect()
    settings = Settings(data_dir=tmp_path, live_previews=previews, max_batch=4, preview_every_seconds=0)
    app = compose(
        "cli", settings, uow_factory=MemoryStore().unit_of_work, storage=InMemoryStorage(),
        generator=generator, live_events=live,
    )  # fmt: skip
    service = app.service
    views, _ = service.request.submit(
        GenerateImage(user_id="u", prompt="a harbour", steps=STEPS, num_images=count)
    )
    service.relay.drain()
    service.worker.execute_batch([v.id for v in views])
    return [e for e in live.events if isinstance(e, GenerationProgress)]


def test_processing_events_carry_small_webp_previews_of_every_image(
    generator: DiffusersGenerator, tmp_path: Path
) -> None:
    progress = run(generator, tmp_path, previews=True, count=2)
    with_preview = [e for e in progress if e.preview]
    assert {e.job_id for e in with_preview} == {e.job_id for e in progress} and len(with_preview) >= 2
    for job in {e.job_id for e in progress}:
        steps = [e.step for e in with_preview if e.job_id == job]
        assert STEPS not in steps and steps  # the last step is the image itself
    for event in with_preview:
        data = base64.b64decode(event.preview)
        assert len(data) <= 8 * 1024
        with Image.open(io.BytesIO(data)) as picture:
            assert picture.format == "WEBP" and max(picture.size) == 128


def test_no_previews_when_they_are_off(generator: DiffusersGenerator, tmp_path: Path) -> None:
    progress = run(generator, tmp_path, previews=False, count=1)
    assert progress and not any(e.preview for e in progress)


def test_the_linear_preview_follows_the_latents() -> None:
    import torch

    dark = latent_previews(torch.full((1, 4, 8, 8), -3.0))[0]
    assert (dark.width, dark.height) == (8, 8) and len(dark.pixels) == 8 * 8 * 3
    noisy = torch.randn((2, 4, 64, 48), generator=torch.Generator().manual_seed(3))
    pictures = latent_previews(noisy)
    assert [(p.width, p.height) for p in pictures] == [(48, 64)] * 2 and pictures[0].pixels != pictures[
        1
    ].pixels


def test_a_preview_that_does_not_fit_is_made_smaller() -> None:
    import os

    noise = RawImage(64, 64, os.urandom(64 * 64 * 3))  # incompressible
    data = PillowEncoder().preview(noise, 2000)
    assert len(data) <= 2000
    with Image.open(io.BytesIO(data)) as picture:
        assert max(picture.size) < 128
