"""What a user asks for, validated: prompt, style, resolution, seed, steps, guidance, scheduler,
and an optional variation (a second seed whose noise is blended into the first's)."""

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
MAX_IMAGES_PER_REQUEST = 4


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


def validate_seed(seed: int, field: str = "seed") -> int:
    if isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise InvalidValue(field, f"{field} must be an integer between 0 and {MAX_SEED}")
    return seed


def consecutive_seeds(first: int, count: int) -> list[int]:
    """The seeds of `count` images asked for at once: `first`, `first + 1`, … (wrapping past
    the largest seed), as AUTOMATIC1111 numbers a batch."""
    if not 1 <= count <= MAX_IMAGES_PER_REQUEST:
        raise InvalidValue("num_images", f"num_images must be between 1 and {MAX_IMAGES_PER_REQUEST}")
    return [(validate_seed(first) + i) % (MAX_SEED + 1) for i in range(count)]


def validate_variation(seed: int | None, strength: float | None) -> float:
    """The strength of a variation (0 without one): 0 to 1, and above 0 only with a seed."""
    value = 0.0 if strength is None else strength
    if isinstance(value, bool) or not 0.0 <= value <= 1.0:
        raise InvalidValue("variation_strength", "variation_strength must be between 0 and 1")
    if seed is not None:
        validate_seed(seed, "variation_seed")
    elif value > 0:
        raise InvalidValue("variation_seed", "a variation_strength above 0 needs a variation_seed")
    return float(value)


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
    # A variation: the initial noise is the spherical interpolation from the seed's noise to
    # `variation_seed`'s, `variation_strength` of the way (0: the seed's image exactly).
    variation_seed: int | None = None
    variation_strength: float = 0.0

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
        variation_seed: int | None = None,
        variation_strength: float | None = None,
    ) -> GenerationParameters:
        preset = preset_for(style)
        steps = preset.steps if steps is None else steps
        guidance = preset.guidance if guidance is None else guidance
        if isinstance(steps, bool) or not MIN_STEPS <= steps <= MAX_STEPS:
            raise InvalidValue("steps", f"steps must be between {MIN_STEPS} and {MAX_STEPS}")
        if not MIN_GUIDANCE <= guidance <= MAX_GUIDANCE:
            raise InvalidValue("guidance", f"guidance must be between {MIN_GUIDANCE} and {MAX_GUIDANCE}")
        strength = validate_variation(variation_seed, variation_strength)
        return cls(
            prompt=validate_prompt(prompt),
            negative_prompt=validate_prompt(negative_prompt or "", "negative_prompt", False),
            style=style,
            resolution=resolution,
            seed=validate_seed(seed),
            steps=steps,
            guidance=float(guidance),
            scheduler=scheduler,
            variation_seed=variation_seed if strength > 0 else None,
            variation_strength=strength,
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

    def fields(self) -> dict[str, str | int | float | None]:
        """The ten fields by name, typed (enums stay enums): the one spelling of the
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
            "variation_seed": self.variation_seed,
            "variation_strength": self.variation_strength,
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
            variation_seed=None if values.get("variation_seed") is None else int(values["variation_seed"]),
            variation_strength=float(values.get("variation_strength") or 0.0),
        )

    def to_dict(self) -> dict[str, str | int | float | None]:
        """The fields as JSON values (events, PNG text chunks)."""
        return {k: v.value if isinstance(v, StrEnum) else v for k, v in self.fields().items()}
