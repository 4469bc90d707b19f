"""Render specs for generator tests: prompts as the model sees them, any size (the tiny
pipeline renders 64 px fast), and `changed` to vary the parameters or the spec."""

from __future__ import annotations

import dataclasses
from typing import Any

from nexus_image.application.ports import RenderSpec
from nexus_image.domain.parameters import GenerationParameters, Scheduler

SPEC_FIELDS = {"prompt", "negative", "width", "height", "init_image", "mask_image"}


def render_spec(
    prompt: str,
    negative: str,
    width: int,
    height: int,
    seed: int,
    steps: int,
    guidance: float = 7.0,
    scheduler: str = "dpmpp_2m_karras",
) -> RenderSpec:
    parameters = GenerationParameters.create(
        prompt=prompt, seed=seed, steps=steps, guidance=guidance, scheduler=Scheduler(scheduler)
    )
    return RenderSpec(parameters, prompt, negative, width, height)


def changed(spec: RenderSpec, **changes: Any) -> RenderSpec:
    """`spec` with some of its own fields and some of its parameters' replaced (unchecked, as a
    worker would receive them). `mode="img2img"`/`"inpaint"` names the upload ids that make it."""
    mode = changes.pop("mode", None)
    if mode in ("img2img", "inpaint"):
        changes.setdefault("init_image_id", "init")
    if mode == "inpaint":
        changes.setdefault("mask_image_id", "mask")
    own = {k: v for k, v in changes.items() if k in SPEC_FIELDS}
    parameters = {k: v for k, v in changes.items() if k not in SPEC_FIELDS}
    return dataclasses.replace(spec, parameters=dataclasses.replace(spec.parameters, **parameters), **own)
