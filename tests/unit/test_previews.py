"""The worker's preview throttle, with a generator that makes previews and a clock the test
moves: at most one preview per `preview_every` per job, never for the last step, one per image
of a batch, none once the job is no longer ours, and a failing encoder never fails the job."""

from __future__ import annotations

from typing import Any

from nexus_image.application.dto import GenerateImage
from nexus_image.application.ports import PreviewingStepCallback, RawImage, RenderSpec, StepCallback
from nexus_image.domain.events import GenerationProgress
from nexus_image.entrypoints.composition import compose
from nexus_image.entrypoints.settings import Settings
from nexus_image.testing import ManualClock, PatternGenerator


class Collect:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def publish(self, event: Any) -> None:
        self.events.append(event)


class PreviewingGenerator(PatternGenerator):
    """Each step takes 0.2 s of the manual clock; previews are small grey squares."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self.clock = clock
        self.asked: list[int] = []

    def generate_batch(self, specs: list[RenderSpec], on_step: StepCallback) -> list[RawImage]:
        steps = specs[0].parameters.steps
        for step in range(1, steps + 1):
            self.clock.advance(seconds=0.2)
            if not on_step(step, steps):
                break
            if isinstance(on_step, PreviewingStepCallback) and on_step.wants_preview(step, steps):
                self.asked.append(step)
                on_step.preview(step, steps, [RawImage(8, 8, bytes([100]) * 192) for _ in specs])
        return [self._pattern(spec) for spec in specs]


def world(**settings: Any) -> tuple[Any, Collect, PreviewingGenerator]:
    clock = ManualClock()
    generator = PreviewingGenerator(clock)
    live = Collect()
    app = compose(
        "memory", Settings.model_construct(welcome_tokens=100, max_batch=4, **settings),
        clock=clock, generator=generator, live_events=live,
    )  # fmt: skip
    return app.service, live, generator


def previews(live: Collect) -> list[GenerationProgress]:
    return [e for e in live.events if isinstance(e, GenerationProgress) and e.preview]


def test_previews_come_at_most_twice_a_second_for_every_image_and_never_at_the_end() -> None:
    service, live, generator = world(live_previews=True)
    views, _ = service.request.submit(GenerateImage(user_id="u", prompt="a fox", steps=10, num_images=2))
    service.relay.drain()
    assert [o.status for o in service.worker.execute_batch([v.id for v in views])] == ["COMPLETED"] * 2
    assert generator.asked == [3, 6, 9]  # 0.6 s apart: the first step after 0.5 s each time
    shown = previews(live)
    assert sorted((e.job_id, e.step) for e in shown) == sorted((v.id, s) for v in views for s in (3, 6, 9))
    assert all(len(e.preview) < 8 * 1024 * 4 / 3 + 4 for e in shown)


def test_no_previews_when_they_are_off() -> None:
    service, live, generator = world(live_previews=False)
    view = service.request_generation(GenerateImage(user_id="u", prompt="a fox", steps=10))
    service.relay.drain()
    service.worker.execute(view.id)
    assert generator.asked == [] and previews(live) == []


def test_a_broken_preview_encoder_never_fails_the_job() -> None:
    service, live, _ = world(live_previews=True)
    worker = service.worker
    worker.render.encoder = Broken(worker.render.encoder)  # the previews'
    view = service.request_generation(GenerateImage(user_id="u", prompt="a fox", steps=10))
    service.relay.drain()
    assert worker.execute(view.id).status == "COMPLETED"
    assert previews(live) == []


class Broken:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def encode(self, *args: Any) -> Any:
        return self.inner.encode(*args)

    def preview(self, raw: RawImage, max_bytes: int) -> bytes:
        raise OSError("no space left for a preview")


def test_clients_get_the_preview_as_a_data_url_and_nothing_when_there_is_none() -> None:
    from datetime import UTC, datetime

    from nexus_image.domain.events import GenerationProgress
    from nexus_image.entrypoints.http.controllers.events import client_view

    at = datetime(2026, 12, 2, tzinfo=UTC)
    with_preview = GenerationProgress(
        event_id="e", job_id="j", user_id="u", occurred_at=at, step=3, total_steps=9, preview="QUJD"
    )
    shown = client_view(with_preview)
    assert shown is not None and shown[0] == "processing"
    assert shown[1]["preview"] == "data:image/webp;base64,QUJD" and shown[1]["step"] == 3
    plain = client_view(
        GenerationProgress(event_id="e", job_id="j", user_id="u", occurred_at=at, step=4, total_steps=9)
    )
    assert plain is not None and "preview" not in plain[1]


def test_no_previews_where_unsafe_outputs_are_blocked() -> None:
    """A preview leaves before the output safety check: blocking unsafe outputs turns them off,
    even with live previews asked for."""
    service, live, generator = world(live_previews=True, block_unsafe_outputs=True)
    assert service.worker.render.pacing.previews is False
    view = service.request_generation(GenerateImage(user_id="u", prompt="a fox", steps=10))
    service.relay.drain()
    assert service.worker.execute(view.id).status == "COMPLETED"
    assert generator.asked == [] and previews(live) == []
    shown, _, _ = world(live_previews=True, block_unsafe_outputs=False)
    assert shown.worker.render.pacing.previews is True
