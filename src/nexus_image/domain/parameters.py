"""What a user asks for, validated: prompt, style, resolution, seed, steps, guidance, scheduler,
an optional variation (a second seed whose noise is blended into the first's), an optional
starting image (img2img) with a mask (inpainting), and LoRA adapters with their weights."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
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
MIN_STRENGTH, MAX_STRENGTH = 0.0, 1.0  # how much of a starting image is repainted (above 0)
DEFAULT_STRENGTH = 0.75  # AUTOMATIC1111's default denoising strength
MAX_LORAS = 3
MIN_LORA_WEIGHT, MAX_LORA_WEIGHT = 0.0, 2.0
UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
LORA_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

ParameterValue = str | int | float | None | list[dict[str, str | float]]
BatchKey = tuple[int, int, int, float, str, str, float, tuple[tuple[str, float], ...]]


class Mode(StrEnum):
    """What an image starts from: noise (text to image), an uploaded image repainted as a
    whole (image to image) or only where a mask is white (inpainting)."""

    TXT2IMG = "txt2img"
    IMG2IMG = "img2img"
    INPAINT = "inpaint"


@dataclass(frozen=True, slots=True)
class LoraWeight:
    """One LoRA adapter by name (a file the operator allowed) and how strongly it applies."""

    name: str
    weight: float = 1.0

    def to_dict(self) -> dict[str, str | float]:
        return {"name": self.name, "weight": self.weight}


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
    width: int,
    height: int,
    steps: int,
    guidance: float,
    scheduler: str,
    mode: str = Mode.TXT2IMG.value,
    strength: float | None = None,
    loras: Iterable[LoraWeight] = (),
) -> BatchKey:
    """The batch-compatibility rule: images of the same size, steps, guidance, scheduler,
    mode, strength and LoRA adapters (with their weights) can be denoised together (each keeps
    its own seed, prompts and starting image)."""
    adapters = tuple(sorted((lora.name, float(lora.weight)) for lora in loras))
    return (width, height, steps, float(guidance), scheduler, mode, float(strength or 0.0), adapters)


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


def validate_upload_id(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not UPLOAD_ID.fullmatch(value):
        raise InvalidValue(field, f"{field} must be an upload id (letters, digits, '-' and '_')")
    return value


def validate_source(
    init_image_id: str | None, mask_image_id: str | None, strength: float | None, steps: int
) -> tuple[str | None, str | None, float | None]:
    """The starting image, its mask and the strength (None without a starting image). A mask
    needs a starting image; the strength is above 0 and at most 1, and leaves at least one
    step to run (diffusers runs `int(steps * strength)` of them)."""
    init = validate_upload_id(init_image_id, "init_image_id")
    mask = validate_upload_id(mask_image_id, "mask_image_id")
    if init is None:
        if mask is not None:
            raise InvalidValue("mask_image_id", "a mask_image_id needs an init_image_id (the image it masks)")
        if strength is not None:
            raise InvalidValue("strength", "strength applies only with an init_image_id")
        return None, None, None
    value = DEFAULT_STRENGTH if strength is None else strength
    if isinstance(value, bool) or not MIN_STRENGTH < value <= MAX_STRENGTH:
        raise InvalidValue("strength", f"strength must be above {MIN_STRENGTH} and at most {MAX_STRENGTH}")
    if int(steps * value) < 1:
        raise InvalidValue(
            "strength", f"strength {value} of {steps} steps runs no step: raise the strength or the steps"
        )
    return init, mask, float(value)


def validate_loras(loras: Iterable[LoraWeight] | None) -> tuple[LoraWeight, ...]:
    """At most three adapters, each named once, each weighted 0 to 2 (which names exist is the
    operator's list: the application checks it)."""
    chosen = tuple(loras or ())
    if len(chosen) > MAX_LORAS:
        raise InvalidValue("loras", f"at most {MAX_LORAS} LoRA adapters per image")
    seen: set[str] = set()
    for lora in chosen:
        if not isinstance(lora.name, str) or not LORA_NAME.fullmatch(lora.name):
            raise InvalidValue("loras", f"LoRA name {lora.name!r} is not a valid adapter name")
        if lora.name in seen:
            raise InvalidValue("loras", f"LoRA {lora.name!r} is given twice")
        seen.add(lora.name)
        weight = lora.weight
        if isinstance(weight, bool) or not MIN_LORA_WEIGHT <= weight <= MAX_LORA_WEIGHT:
            raise InvalidValue(
                "loras", f"LoRA weights must be between {MIN_LORA_WEIGHT} and {MAX_LORA_WEIGHT}"
            )
    return tuple(LoraWeight(lora.name, float(lora.weight)) for lora in chosen)


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
    # A starting image (an upload of the owner's): repainted `strength` of the way, everywhere
    # or, with a mask, only where the mask is white.
    init_image_id: str | None = None
    mask_image_id: str | None = None
    strength: float | None = None
    loras: tuple[LoraWeight, ...] = ()

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
        init_image_id: str | None = None,
        mask_image_id: str | None = None,
        strength: float | None = None,
        loras: Iterable[LoraWeight] | None = None,
    ) -> GenerationParameters:
        preset = preset_for(style)
        steps = preset.steps if steps is None else steps
        guidance = preset.guidance if guidance is None else guidance
        if isinstance(steps, bool) or not MIN_STEPS <= steps <= MAX_STEPS:
            raise InvalidValue("steps", f"steps must be between {MIN_STEPS} and {MAX_STEPS}")
        if not MIN_GUIDANCE <= guidance <= MAX_GUIDANCE:
            raise InvalidValue("guidance", f"guidance must be between {MIN_GUIDANCE} and {MAX_GUIDANCE}")
        blend = validate_variation(variation_seed, variation_strength)
        init, mask, repaint = validate_source(init_image_id, mask_image_id, strength, steps)
        if init is not None and blend > 0:
            raise InvalidValue("variation_seed", "variations apply to text-to-image only (no init_image_id)")
        return cls(
            prompt=validate_prompt(prompt),
            negative_prompt=validate_prompt(negative_prompt or "", "negative_prompt", False),
            style=style,
            resolution=resolution,
            seed=validate_seed(seed),
            steps=steps,
            guidance=float(guidance),
            scheduler=scheduler,
            variation_seed=variation_seed if blend > 0 else None,
            variation_strength=blend,
            init_image_id=init,
            mask_image_id=mask,
            strength=repaint,
            loras=validate_loras(loras),
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

    @property
    def mode(self) -> Mode:
        if self.init_image_id is None:
            return Mode.TXT2IMG
        return Mode.INPAINT if self.mask_image_id is not None else Mode.IMG2IMG

    def batch_key(self) -> BatchKey:
        """Jobs with equal keys can run in one batch (same shape, schedule, guidance, mode,
        strength and adapters)."""
        return batch_key(
            self.width,
            self.height,
            self.steps,
            self.guidance,
            self.scheduler.value,
            self.mode.value,
            self.strength,
            self.loras,
        )

    def fields(self) -> dict[str, ParameterValue]:
        """The fields by name, typed (enums stay enums; LoRAs as name/weight objects): the one
        spelling of the parameters that every outer shape (views, responses, rows) is made from."""
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
            "init_image_id": self.init_image_id,
            "mask_image_id": self.mask_image_id,
            "strength": self.strength,
            "loras": [lora.to_dict() for lora in self.loras],
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
            init_image_id=values.get("init_image_id"),
            mask_image_id=values.get("mask_image_id"),
            strength=None if values.get("strength") is None else float(values["strength"]),
            loras=tuple(
                LoraWeight(str(lora["name"]), float(lora["weight"])) for lora in values.get("loras") or ()
            ),
        )

    def to_dict(self) -> dict[str, ParameterValue]:
        """The fields as JSON values (events, PNG text chunks)."""
        return {k: v.value if isinstance(v, StrEnum) else v for k, v in self.fields().items()}
