"""The second round of generation features through the real use cases on the in-memory
adapters: the hires fix (its final size, its price, its rules), sigma schedules, fast modes,
wildcards drawn from each image's seed and moderated whole, the A1111 text of every new field,
and upscaling an image as a job of its own."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_image.application import GenerateImage
from nexus_image.application.errors import Conflict, NotFound, PromptRejected
from nexus_image.application.upscale import UpscaleCommand
from nexus_image.domain.dynamic_prompt_syntax import WildcardTable
from nexus_image.domain.errors import InvalidValue, UnknownFastMode, UnknownUpscaler, UnknownWildcard
from nexus_image.domain.fast_modes import parse_fast_modes
from nexus_image.domain.parameters import GenerationParameters, Schedule
from nexus_image.domain.png_parameters import a1111_text, automatic1111
from nexus_image.domain.resolution import Pricing, Resolution
from nexus_image.testing import MemoryStore
from tests.support.driver import Fakes, ServiceDriver

FAST = '{"lcm": {"lora": "lcm-lora", "scheduler": "lcm", "steps": 4, "guidance": 1.5, "price": 0.5}}'


class World(ServiceDriver):
    def __init__(self, **wildcards: list[str]) -> None:
        self.fakes = Fakes()
        self.store = MemoryStore()
        self.queue = self.fakes.queue
        self.service = self.fakes.service(self.store.unit_of_work, 1000)
        self.service.request.wildcards = WildcardTable(wildcards)
        self.service.request.fast_modes = parse_fast_modes(FAST)
        self.service.request.adapters = _Loras(["lcm-lora", "detail"])

    def ask(self, user: str = "alice", **fields: Any) -> list[Any]:
        params: dict[str, Any] = {"prompt": "a lighthouse", "steps": 4, **fields}
        views, _ = self.service.request.submit(GenerateImage(user, **params))
        return views


class _Loras:
    def __init__(self, names: list[str]) -> None:
        self.names = names

    def available(self) -> list[Any]:
        from nexus_image.application.ports import LoraFile

        return [LoraFile(name, 1) for name in self.names]


def test_a_hires_fix_delivers_the_enlarged_size_and_is_priced_by_it() -> None:
    world = World()
    before = world.balance()
    (view,) = world.ask(hires_scale=2, hires_steps=6)
    assert (view.width, view.height) == (1024, 1024)  # drawn at 512, delivered at 1024
    assert view.tokens_cost == 20 == Pricing().cost(Resolution.SQUARE_1024)  # the final size's price
    assert view.parameters.hires_upscaler == "latent" and view.parameters.hires_denoise == 0.7
    assert world.balance() == before - 20
    (scaled,) = world.ask(hires_scale=1.5)
    assert (scaled.width, scaled.height, scaled.tokens_cost) == (768, 768, 12)  # ceil(5 x 2.25)
    assert world.run_queue() == ["COMPLETED", "COMPLETED"]
    png, _ = world.service.images.content("alice", view.id)
    import io

    from PIL import Image

    assert Image.open(io.BytesIO(png)).size == (1024, 1024)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"hires_scale": 2, "resolution": "1024x1536"}, "hires_scale"),  # 2048x3072: too large
        ({"hires_scale": 1.1}, "hires_scale"),
        ({"hires_scale": 2, "hires_denoise": 0.1, "steps": 4}, "hires_denoise"),  # runs no step
        ({"schedule": "karras", "scheduler": "ddim"}, "schedule"),
        ({"schedule": "exponential", "scheduler": "dpmpp_2m_karras"}, "schedule"),
        ({"clip_skip": 5}, "clip_skip"),
        ({"schedule": "linear"}, "schedule"),
    ],
)
def test_bad_combinations_are_refused_naming_the_field_and_nothing_is_charged(
    fields: dict[str, Any], field: str
) -> None:
    world = World()
    before = world.balance()
    with pytest.raises(InvalidValue) as refused:
        world.ask(**fields)
    assert refused.value.field == field
    assert world.balance() == before


def test_hires_settings_without_a_scale_are_dropped_and_the_schedule_applies_where_supported() -> None:
    (view,) = World().ask(hires_steps=5, hires_denoise=0.4, scheduler="euler", schedule="karras")
    p = view.parameters
    assert (p.hires_scale, p.hires_steps, p.hires_denoise, p.hires_upscaler) == (None, None, None, None)
    assert p.schedule is Schedule.KARRAS and (view.width, view.height) == (512, 512)


def test_a_hires_upscaler_must_be_offered() -> None:
    world = World()
    world.service.request.upscalers = lambda: ("ultrasharp",)
    (ok,) = world.ask(hires_scale=1.5, hires_upscaler="ultrasharp")
    assert ok.parameters.hires_upscaler == "ultrasharp"
    with pytest.raises(UnknownUpscaler) as refused:
        world.ask(hires_scale=1.5, hires_upscaler="missing")
    assert refused.value.allowed == ("latent", "ultrasharp")


def test_a_fast_mode_sets_its_lora_scheduler_steps_and_guidance_and_its_price() -> None:
    world = World()
    (view,) = world.ask(fast="lcm", steps=30, guidance=9, scheduler="euler", loras=[{"name": "detail"}])
    p = view.parameters
    assert (p.fast, p.scheduler.value, p.steps, p.guidance) == ("lcm", "lcm", 4, 1.5)
    assert [lora.name for lora in p.loras] == ["detail", "lcm-lora"]
    assert view.tokens_cost == 3  # half of 5, rounded up
    with pytest.raises(UnknownFastMode) as refused:
        world.ask(fast="turbo")
    assert refused.value.allowed == ("lcm",)


def test_wildcards_are_drawn_from_each_images_seed_and_recorded_with_their_template() -> None:
    world = World(colour=["red", "green", "blue", "gold", "white", "black"])
    template = "a {tall|small} __colour__ lighthouse"
    first = world.ask(prompt=template, seed=40, num_images=4)
    again = world.ask(prompt=template, seed=40, num_images=4)
    assert [v.parameters.prompt for v in first] == [v.parameters.prompt for v in again]
    assert len({v.parameters.prompt for v in first}) > 1  # consecutive seeds, their own draws
    for view in first:
        assert view.parameters.prompt_template == template
        assert "{" not in view.parameters.prompt and "__" not in view.parameters.prompt
    remixed, _ = world.service.request.remix(first[1].id, GenerateImage("alice"))
    assert remixed[0].parameters.prompt == first[1].parameters.prompt  # same seed, same draw
    with pytest.raises(UnknownWildcard):
        world.ask(prompt="a __weather__ sky")


def test_a_template_that_can_expand_to_a_refused_prompt_is_refused_whatever_the_seed() -> None:
    world = World(subject=["a lighthouse", "a naked child"])
    before = world.balance()
    for seed in range(3):
        with pytest.raises(PromptRejected):
            world.ask(prompt="__subject__ on a cliff", seed=seed)
    with pytest.raises(PromptRejected):  # too many to list: every option judged at once
        world.ask(prompt="{a|b|c|d|e|f} {a|b|c|d|e|f} {g|h|i|j|k|l} {m|n|o|p|q|r} {naked child|dog}")
    assert world.balance() == before


def test_an_image_is_upscaled_as_a_job_of_its_own_linked_to_its_source() -> None:
    world = World()
    (source,) = world.ask(seed=5, hires_scale=1.5)
    upscale = world.service.upscale
    assert upscale is not None
    with pytest.raises(Conflict):  # not finished yet
        upscale.execute(UpscaleCommand("alice", source.id, 2))
    assert world.run_queue() == ["COMPLETED"]
    before = world.balance()
    view, created = upscale.execute(UpscaleCommand("alice", source.id, 2, client_key="k1"))
    again, created_again = upscale.execute(UpscaleCommand("alice", source.id, 2, client_key="k1"))
    assert created and not created_again and again.id == view.id
    assert view.parameters.upscale_of == source.id and view.parameters.upscaler == "lanczos"
    assert (view.width, view.height) == (1536, 1536)
    assert view.tokens_cost == Pricing().upscale_cost(1536, 1536) == 5  # 2.36 MP x 2, rounded up
    assert world.balance() == before - view.tokens_cost
    assert world.run_queue() == ["COMPLETED"]
    png, _ = world.service.images.content("alice", view.id)
    import io

    from PIL import Image

    assert Image.open(io.BytesIO(png)).size == (1536, 1536)


def test_upscale_requests_are_checked_before_anything_is_charged() -> None:
    world = World()
    (source,) = world.ask(seed=5, resolution="1024x1536")
    (private,) = world.ask(user="bob", seed=6)
    world.run_queue()
    upscale = world.service.upscale
    assert upscale is not None
    before = world.balance()
    with pytest.raises(InvalidValue) as refused:
        upscale.execute(UpscaleCommand("alice", source.id, 3))
    assert refused.value.field == "factor" and refused.value.allowed == ("2", "4")
    with pytest.raises(InvalidValue) as refused:
        upscale.execute(UpscaleCommand("alice", source.id, 4))  # 4096x6144: too large
    assert refused.value.allowed == ("2",)
    with pytest.raises(UnknownUpscaler):
        upscale.execute(UpscaleCommand("alice", source.id, 2, upscaler="esrgan-x"))
    with pytest.raises(NotFound):  # another user's private image: as if missing
        upscale.execute(UpscaleCommand("alice", private.id, 2))
    assert world.balance() == before


NEW_FIELDS = st.fixed_dictionaries(
    {
        "clip_skip": st.integers(1, 4),
        "tiling": st.booleans(),
        "scheduler": st.sampled_from(["euler", "dpmpp_2m", "unipc"]),
        "schedule": st.sampled_from(["default", "karras", "exponential"]),
    },
    optional={
        "hires_scale": st.sampled_from([1.25, 1.5, 2.0]),
        "hires_steps": st.integers(3, 40),
        "hires_denoise": st.sampled_from([0.35, 0.5, 0.7, 1.0]),
        "hires_upscaler": st.sampled_from(["latent", "lanczos", "4x-UltraSharp"]),
    },
)


@settings(max_examples=60, deadline=None)
@given(fields=NEW_FIELDS, seed=st.integers(0, 2**32 - 1))
def test_the_a1111_text_of_every_new_field_reads_back_to_the_same_request(
    fields: dict[str, Any], seed: int
) -> None:
    p = GenerationParameters.create(
        prompt="a (red:1.2) lighthouse, BREAK night", seed=seed, steps=20, **fields
    )
    text = a1111_text(p, "sd15")
    found = automatic1111(text)
    assert found is not None
    back = GenerationParameters.create(**{**found.parameters, "style": p.style.value})
    for name in (
        "clip_skip",
        "tiling",
        "scheduler",
        "schedule",
        "hires_scale",
        "hires_steps",
        "hires_denoise",
        "hires_upscaler",
        "seed",
        "prompt",
    ):
        assert getattr(back, name) == getattr(p, name), name
    if p.hires_scale is not None:
        assert f"Hires upscale: {p.hires_scale}" in text and "Denoising strength" in text
    if p.clip_skip > 1:
        assert f"Clip skip: {p.clip_skip}" in text


def test_a1111_texts_from_elsewhere_keep_image_to_image_strength_apart_and_read_templates() -> None:
    img2img = automatic1111("a cat\nSteps: 20, Sampler: Euler, Denoising strength: 0.4, Seed: 3")
    assert img2img is not None and "hires_denoise" not in img2img.parameters
    assert img2img.unsupported["Denoising strength"] == "0.4"
    drawn = automatic1111(
        'a red car\nSteps: 20, Sampler: Euler a, Seed: 3, Template: "a {red|blue} car", Tiling: True'
    )
    assert drawn is not None
    assert drawn.parameters["prompt"] == "a {red|blue} car" and drawn.parameters["tiling"] is True


def test_a_preset_wraps_the_prompt_and_fills_what_the_request_leaves_out_once() -> None:
    from nexus_image.application.presets import ManagePresets
    from nexus_image.testing import SequentialIds

    world = World()
    presets = ManagePresets(world.store.unit_of_work, world.fakes.clock, SequentialIds())
    world.service.request.presets = presets.applied
    mine = presets.create(
        "alice",
        name="noir",
        template="film noir still of {prompt}, {red|grey} light",
        negative_prompt="colour",
        style="artistic",
        parameters={"steps": 12, "clip_skip": 2},
    )
    (view,) = world.ask(prompt="a detective", preset=mine.id, steps=None, negative_prompt="blur")
    p = view.parameters
    assert p.prompt_template == "film noir still of a detective, {red|grey} light"
    assert p.prompt in (
        "film noir still of a detective, red light",
        "film noir still of a detective, grey light",
    )
    assert (p.negative_prompt, p.style.value, p.steps, p.clip_skip, p.preset) == (
        "blur, colour",
        "artistic",
        12,
        2,
        mine.id,
    )
    (given,) = world.ask(prompt="a detective", preset=mine.id, steps=5)
    assert given.parameters.steps == 5  # what the request says wins
    remixed, _ = world.service.request.remix(view.id, GenerateImage("alice"))
    assert remixed[0].parameters.prompt_template == p.prompt_template  # not wrapped twice
    with pytest.raises(NotFound):  # another user's private preset: as if missing
        world.ask(user="bob", prompt="a detective", preset=mine.id)


def test_an_image_whose_prompt_holds_braces_written_as_text_is_upscaled_as_it_is() -> None:
    world = World()
    (source,) = world.ask(prompt=r"a sign reading \{open\}", seed=2)
    assert source.parameters.prompt == "a sign reading {open}"
    world.run_queue()
    upscale = world.service.upscale
    assert upscale is not None
    view, _ = upscale.execute(UpscaleCommand("alice", source.id, 2))
    assert view.parameters.prompt == "a sign reading {open}"  # not read as a template again
