"""What a user asks for, validated: prompt, style, resolution, seed, steps, guidance, scheduler."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from nexus_image.domain.errors import InvalidValue, UnknownScheduler
from nexus_image.domain.resolution import Resolution
from nexus_image.domain.styles import Style, preset_for

MAX_PROMPT_LENGTH = 1000
MIN_STEPS, MAX_STEPS = 1, 100
MIN_GUIDANCE, MAX_GUIDANCE = 1.0, 20.0
MAX_SEED = 2**32 - 1


class Scheduler(StrEnum):
    DPMPP_2M = "dpmpp_2m"
    DPMPP_2M_KARRAS = "dpmpp_2m_karras"
    EULER = "euler"
    EULER_ANCESTRAL = "euler_a"
    DDIM = "ddim"
    UNIPC = "unipc"
    PNDM = "pndm"

    @classmethod
    def parse(cls, value: str) -> Scheduler:
        if isinstance(value, cls):
            return value
        try:
            return cls(value.strip().lower())
        except ValueError:
            allowed = tuple(s.value for s in cls)
            raise UnknownScheduler(
                "scheduler", f"unknown scheduler {value!r}; allowed: {', '.join(allowed)}", allowed
            ) from None


DEFAULT_SCHEDULER = Scheduler.DPMPP_2M_KARRAS


def batch_key(
    width: int, height: int, steps: int, guidance: float, scheduler: str
) -> tuple[int, int, int, float, str]:
    """The batch-compatibility rule: images of the same size, steps, guidance and scheduler can
    be denoised together (each keeps its own seed and prompts)."""
    return (width, height, steps, float(guidance), scheduler)


def validate_prompt(prompt: str, field: str = "prompt", required: bool = True) -> str:
    text = " ".join(prompt.split())
    if required and not text:
        raise InvalidValue(field, f"{field} must not be empty")
    if len(text) > MAX_PROMPT_LENGTH:
        raise InvalidValue(field, f"{field} is longer than {MAX_PROMPT_LENGTH} characters")
    return text


def validate_seed(seed: int) -> int:
    if isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise InvalidValue("seed", f"seed must be an integer between 0 and {MAX_SEED}")
    return seed


@dataclass(frozen=True, slots=True)
class GenerationParameters:
    """A complete, valid description of one image to generate (the seed is always fixed)."""

    prompt: str
    negative_prompt: str
    style: Style
    resolution: Resolution
    seed: int
    steps: int
    guidance: float
    scheduler: Scheduler

    @classmethod
    def create(
        cls,
        *,
        prompt: str,
        seed: int,
        negative_prompt: str | None = None,
        style: Style = Style.REALISTIC,
        resolution: Resolution = Resolution.SQUARE_512,
        steps: int | None = None,
        guidance: float | None = None,
        scheduler: Scheduler = DEFAULT_SCHEDULER,
    ) -> GenerationParameters:
        preset = preset_for(style)
        steps = preset.steps if steps is None else steps
        guidance = preset.guidance if guidance is None else guidance
        if isinstance(steps, bool) or not MIN_STEPS <= steps <= MAX_STEPS:
            raise InvalidValue("steps", f"steps must be between {MIN_STEPS} and {MAX_STEPS}")
        if not MIN_GUIDANCE <= guidance <= MAX_GUIDANCE:
            raise InvalidValue("guidance", f"guidance must be between {MIN_GUIDANCE} and {MAX_GUIDANCE}")
        return cls(
            prompt=validate_prompt(prompt),
            negative_prompt=validate_prompt(negative_prompt or "", "negative_prompt", False),
            style=style,
            resolution=resolution,
            seed=validate_seed(seed),
            steps=steps,
            guidance=float(guidance),
            scheduler=scheduler,
        )

    @property
    def width(self) -> int:
        return self.resolution.width

    @property
    def height(self) -> int:
        return self.resolution.height

    def styled_prompts(self) -> tuple[str, str]:
        """The prompt and negative prompt the model actually sees."""
        return preset_for(self.style).apply(self.prompt, self.negative_prompt)

    def batch_key(self) -> tuple[int, int, int, float, str]:
        """Jobs with equal keys can run in one batch (same shape, schedule and guidance)."""
        return batch_key(self.width, self.height, self.steps, self.guidance, self.scheduler.value)

    def fields(self) -> dict[str, str | int | float]:
        """The eight fields by name, typed (enums stay enums): the one spelling of the
        parameters that every outer shape (views, responses, rows) is made from."""
        return {
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "style": self.style,
            "resolution": self.resolution,
            "seed": self.seed,
            "steps": self.steps,
            "guidance": self.guidance,
            "scheduler": self.scheduler,
        }

    @classmethod
    def restore(cls, values: Mapping[str, Any]) -> GenerationParameters:
        """Parameters as `to_dict` (or a stored row) spells them. Not re-validated: they were
        when the job was made, and re-validating would break old jobs whenever a rule gets
        stricter."""
        return cls(
            prompt=str(values["prompt"]),
            negative_prompt=str(values["negative_prompt"]),
            style=Style(values["style"]),
            resolution=Resolution(values["resolution"]),
            seed=int(values["seed"]),
            steps=int(values["steps"]),
            guidance=float(values["guidance"]),
            scheduler=Scheduler(values["scheduler"]),
        )

    def to_dict(self) -> dict[str, str | int | float]:
        """The fields as JSON values (events, PNG text chunks)."""
        return {k: v.value if isinstance(v, StrEnum) else v for k, v in self.fields().items()}
