"""Fast modes: the operator's few-step presets (an LCM, TCD or Hyper-SD LoRA with the scheduler,
steps and guidance it was trained for, and a price), chosen per request by name."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from nexus_image.domain.errors import InvalidValue
from nexus_image.domain.parameters import (
    LORA_NAME,
    MAX_GUIDANCE,
    MAX_LORA_WEIGHT,
    MAX_LORAS,
    MAX_STEPS,
    MIN_STEPS,
    OFFERED_NAME,
    GenerationParameters,
    LoraWeight,
    Schedule,
    Scheduler,
)

SETTING = "fast_modes"


@dataclass(frozen=True, slots=True)
class FastMode:
    """`price` multiplies the image's price (0.5: half price), rounded up, at least 1 token."""

    name: str
    scheduler: Scheduler
    steps: int
    guidance: float
    lora: str | None = None
    lora_weight: float = 1.0
    price: float = 1.0

    def apply(self, parameters: GenerationParameters) -> GenerationParameters:
        """The request's parameters with this mode's scheduler, steps, guidance and LoRA (after
        the request's own adapters); the mode's name is recorded."""
        loras = tuple(lora for lora in parameters.loras if lora.name != self.lora)
        if self.lora is not None:
            if len(loras) >= MAX_LORAS:
                raise InvalidValue(
                    "fast",
                    f"fast mode {self.name!r} adds a LoRA: at most {MAX_LORAS - 1} of your own with it",
                )
            loras += (LoraWeight(self.lora, self.lora_weight),)
        return replace(
            parameters,
            fast=self.name,
            scheduler=self.scheduler,
            schedule=Schedule.DEFAULT,
            steps=self.steps,
            guidance=self.guidance,
            loras=loras,
        )

    def priced(self, tokens: int) -> int:
        return max(1, math.ceil(tokens * self.price - 1e-9))

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "scheduler": self.scheduler.value,
            "steps": self.steps,
            "guidance": self.guidance,
            "lora": self.lora,
            "price": self.price,
        }


def _number(
    item: Mapping[str, Any], key: str, low: float, high: float, default: float | None = None
) -> float:
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidValue(SETTING, f"{SETTING}: {key} must be a number from {low} to {high}")
    return float(value)


def parse_fast_modes(text: str) -> dict[str, FastMode]:
    """From the operator's JSON: `{"lcm": {"lora": "lcm-lora-sdv1-5", "scheduler": "lcm",
    "steps": 4, "guidance": 1.5, "price": 0.5}}` (empty: none)."""
    if not text.strip():
        return {}
    try:
        found = json.loads(text)
    except ValueError as error:
        raise InvalidValue(SETTING, f"{SETTING} is not JSON: {error}") from None
    if not isinstance(found, dict):
        raise InvalidValue(SETTING, f"{SETTING} must be an object of modes by name")
    modes: dict[str, FastMode] = {}
    for name, item in found.items():
        if not isinstance(name, str) or not OFFERED_NAME.fullmatch(name) or not isinstance(item, dict):
            raise InvalidValue(SETTING, f"{SETTING}: {name!r} must be a name with an object of settings")
        lora = item.get("lora")
        if lora is not None and (not isinstance(lora, str) or not LORA_NAME.fullmatch(lora)):
            raise InvalidValue(SETTING, f"{SETTING}: {name}'s lora must be a LoRA's name")
        modes[name] = FastMode(
            name,
            Scheduler.parse(str(item.get("scheduler", "lcm"))),
            int(_number(item, "steps", MIN_STEPS, MAX_STEPS)),
            _number(item, "guidance", 1.0, MAX_GUIDANCE, 1.0),
            lora,
            _number(item, "lora_weight", 0.0, MAX_LORA_WEIGHT, 1.0),
            _number(item, "price", 0.01, 100.0, 1.0),
        )
    return modes
