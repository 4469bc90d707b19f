"""What a user asks for, declared once: every field of a generation request, with its bounds,
its default and its meaning. Everything else (the HTTP body and its OpenAPI schema, the CLI's
options, the studio's form, the stored JSON, the worker's render input, the PNG text and the
AUTOMATIC1111 labels) is derived from these declarations or carries the value whole.

`GenerationParameters` is one image, complete and valid (the seed is always fixed);
`RequestOptions` is what a request says besides its images (how many, public, for which
companion). Adding a parameter means: its declaration here, its use in the generator, and a
migration only if a query filters or sorts on it."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from functools import cache
from typing import Any, cast

from nexus_image.domain.errors import InvalidValue, UnknownScheduler
from nexus_image.domain.resolution import Resolution
from nexus_image.domain.styles import Style, preset_for
from nexus_image.domain.webhooks import MAX_URL_LENGTH, WebhookEvent, check_url

MAX_PROMPT_LENGTH = 1000
MIN_STEPS, MAX_STEPS = 1, 100
MIN_GUIDANCE, MAX_GUIDANCE = 1.0, 20.0
MAX_SEED = 2**32 - 1
MAX_IMAGES_PER_REQUEST = 4
MIN_STRENGTH, MAX_STRENGTH = 0.0, 1.0  # how much of a starting image is repainted (above 0)
DEFAULT_STRENGTH = 0.75  # AUTOMATIC1111's default denoising strength
MAX_LORAS = 3
MIN_LORA_WEIGHT, MAX_LORA_WEIGHT = 0.0, 2.0
MAX_COMPANION_ID = 255
MAX_DEADLINE_SECONDS = 24 * 3600  # a job not started within a day of its request is of no use
UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
LORA_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
MODEL_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")  # also a Kafka topic's suffix: keep it that safe
OFFERED_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # an upscaler's or a fast mode's name
MIN_CLIP_SKIP, MAX_CLIP_SKIP = 1, 4
MIN_HIRES_SCALE, MAX_HIRES_SCALE = 1.25, 2.0
DEFAULT_HIRES_DENOISE = 0.7  # AUTOMATIC1111's default for the second pass
MAX_OUTPUT_SIDE = 2048  # what a second pass may reach on a side (SD 1.x draws 512 px natively)
LATENT_UPSCALER = "latent"  # the first pass's latents enlarged as they are (no file)
LANCZOS_UPSCALER = "lanczos"  # the first pass's pixels enlarged by Lanczos (no file)
UPSCALE_FACTORS = (2, 4)
MAX_UPSCALED_SIDE = 4096
PRESET_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

ParameterValue = str | int | float | bool | None | list[dict[str, str | float]]
BatchKey = tuple[Any, ...]


class Kind(StrEnum):
    """What sort of value a field holds (how it is checked, stored and shown)."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    CHOICE = "choice"  # one value of an enum
    UPLOAD = "upload"  # an upload's id (the caller's own)
    ADAPTERS = "adapters"  # LoRA adapters by name, with weights
    FLAG = "flag"
    URL = "url"  # an absolute http(s) URL
    CHOICES = "choices"  # several values of an enum, each at most once
    MODEL = "model"  # a model by name (one the operator installed)
    NAME = "name"  # one of a list the operator offers (`Param.offered_by` says which)


class Fallback(StrEnum):
    """Where an absent value comes from, when not from a fixed default."""

    RANDOM = "random"  # chosen at random and recorded
    STYLE = "style"  # the style's own value


class Mode(StrEnum):
    """What an image starts from: noise (text to image), an uploaded image repainted as a
    whole (image to image) or only where a mask is white (inpainting), or another image of the
    owner's made larger (upscaling: no denoising at all)."""

    TXT2IMG = "txt2img"
    IMG2IMG = "img2img"
    INPAINT = "inpaint"
    UPSCALE = "upscale"


class Scheduler(StrEnum):
    DPMPP_2M = "dpmpp_2m"
    DPMPP_2M_KARRAS = "dpmpp_2m_karras"
    EULER = "euler"
    EULER_ANCESTRAL = "euler_a"
    DDIM = "ddim"
    UNIPC = "unipc"
    PNDM = "pndm"
    LCM = "lcm"  # few-step models and LoRAs (LCM)
    TCD = "tcd"  # few-step LoRAs (TCD, Hyper-SD)

    @classmethod
    def parse(cls, value: str) -> Scheduler:
        if isinstance(value, cls):
            return value
        try:
            return cls(value.strip().lower())
        except (ValueError, AttributeError):
            allowed = tuple(s.value for s in cls)
            raise UnknownScheduler(
                "scheduler", f"unknown scheduler {value!r}; allowed: {', '.join(allowed)}", allowed
            ) from None


DEFAULT_SCHEDULER = Scheduler.DPMPP_2M_KARRAS


class Schedule(StrEnum):
    """How the noise levels are spaced over the steps: as the scheduler does by default, or
    Karras's / exponential spacing (more steps at low noise) where the scheduler supports it."""

    DEFAULT = "default"
    KARRAS = "karras"
    EXPONENTIAL = "exponential"

    @classmethod
    def parse(cls, value: str) -> Schedule:
        if isinstance(value, cls):
            return value
        text = str(value).strip().lower()
        text = "default" if text in ("automatic", "uniform") else text
        try:
            return cls(text)
        except ValueError:
            allowed = tuple(s.value for s in cls)
            raise InvalidValue(
                "schedule", f"unknown schedule {value!r}; allowed: {', '.join(allowed)}", allowed
            ) from None


# The schedulers whose noise levels may be spaced otherwise (the others have fixed spacing).
SPACED_SCHEDULERS = frozenset({Scheduler.DPMPP_2M, Scheduler.EULER, Scheduler.UNIPC})
# AUTOMATIC1111's sampler names (its "Schedule type: Karras" is folded into the name first).
A1111_SAMPLERS: dict[str, Scheduler] = {
    "dpm++ 2m karras": Scheduler.DPMPP_2M_KARRAS,
    "dpm++ 2m": Scheduler.DPMPP_2M,
    "euler a": Scheduler.EULER_ANCESTRAL,
    "euler": Scheduler.EULER,
    "ddim": Scheduler.DDIM,
    "unipc": Scheduler.UNIPC,
    "plms": Scheduler.PNDM,
    "pndm": Scheduler.PNDM,
    "lcm": Scheduler.LCM,
    "tcd": Scheduler.TCD,
}
# A1111's names of the schedule types (its "Automatic" is the scheduler's own spacing).
A1111_SCHEDULES = {
    Schedule.DEFAULT: "Automatic",
    Schedule.KARRAS: "Karras",
    Schedule.EXPONENTIAL: "Exponential",
}


@dataclass(frozen=True, slots=True)
class LoraWeight:
    """One LoRA adapter by name (a file the operator allowed) and how strongly it applies."""

    name: str
    weight: float = 1.0

    def to_dict(self) -> dict[str, str | float]:
        return {"name": self.name, "weight": self.weight}


@dataclass(frozen=True, slots=True)
class Param:
    """How one field is described: for people (`label`, `help`), for checks (`kind`, bounds,
    `choices`, `pattern`), for defaults (`fallback`; a fixed default is the field's own), and
    for the outer shapes: `a1111` is its label in AUTOMATIC1111's settings line; `per_image`
    says the images of one batch may differ in it (every other field is part of the batch key);
    `group` gathers fields the studio shows together (a variation's seed and strength); `cli`
    offers it as an option of `nexus-image generate`; `since` is the version of the request
    shape that added it (an Idempotency-Key recorded before did not name it); `offered_by`
    names the list a NAME is taken from; `request` is False for what only the service sets;
    `search` is the query parameter that finds images by this field (`/images/search`, the
    studio's search filters; an ADAPTERS field by one adapter's name)."""

    label: str
    help: str
    kind: Kind
    low: float | None = None
    high: float | None = None
    above_low: bool = False  # the lower bound itself is not allowed
    min_length: int | None = None
    max_length: int | None = None
    required: bool = False
    choices: type[StrEnum] | None = None
    pattern: str | None = None
    fallback: Fallback | None = None
    a1111: str | None = None
    per_image: bool = False
    group: str | None = None
    cli: bool = True
    since: int = 1
    offered_by: str | None = None  # for a NAME: the key of /studio/config listing the names
    request: bool = True  # False: set by the service (an upscale's source), never in a request
    search: str | None = None  # the search filter's name, where images can be found by this field


PARAM = "param"


def _declared(param: Param, default: Any = MISSING) -> Any:
    return field(default=default, metadata={PARAM: param})


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationParameters:
    """A complete, valid description of one image to generate (the seed is always fixed).
    Each field is declared here once; see the module's docstring."""

    prompt: str = _declared(
        Param(
            "Prompt",
            f"What to draw: 1 to {MAX_PROMPT_LENGTH} characters (whitespace runs count as one); "
            "read whole, style text included, in chunks of 75 CLIP tokens, with AUTOMATIC1111's "
            "weights: (word:1.3), (word) x1.1, [word] /1.1, BREAK starts a chunk.",
            Kind.TEXT,
            min_length=1,
            max_length=MAX_PROMPT_LENGTH,
            required=True,
            per_image=True,
            cli=False,
        )
    )
    negative_prompt: str = _declared(
        Param(
            "Negative prompt",
            f"What to leave out: up to {MAX_PROMPT_LENGTH} characters, added in front of the "
            "style's own negative prompt.",
            Kind.TEXT,
            max_length=MAX_PROMPT_LENGTH,
            a1111="Negative prompt",  # a line of its own, after the prompt
            per_image=True,
        ),
        "",
    )
    style: Style = _declared(
        Param(
            "Style",
            "A prompt template with its own negative prompt, steps and guidance.",
            Kind.CHOICE,
            choices=Style,
            per_image=True,
            search="style",
        ),
        Style.REALISTIC,
    )
    model: str | None = _declared(
        Param(
            "Model",
            "The checkpoint that draws the image, by name: one of the models offered here "
            "(GET /api/v1/models). Empty: the style's preferred model where the operator set one, "
            "else the default model.",
            Kind.MODEL,
            max_length=64,
            pattern=MODEL_NAME.pattern,
            cli=False,  # `generate --model` takes a name or a location (see the CLI)
            since=4,
            search="model",
        ),
        None,
    )
    resolution: Resolution = _declared(
        Param(
            "Resolution",
            "Width x height in pixels; each has its token price.",
            Kind.CHOICE,
            choices=Resolution,
            a1111="Size",
            search="resolution",
        ),
        Resolution.SQUARE_512,
    )
    seed: int = _declared(
        Param(
            "Seed",
            f"0 to {MAX_SEED}: the same seed and settings give the same image. Empty: chosen at "
            "random and recorded.",
            Kind.INTEGER,
            low=0,
            high=MAX_SEED,
            fallback=Fallback.RANDOM,
            a1111="Seed",
            per_image=True,
            search="seed",
        )
    )
    steps: int = _declared(
        Param(
            "Steps",
            f"Denoising steps, {MIN_STEPS} to {MAX_STEPS}. Empty: the style's default.",
            Kind.INTEGER,
            low=MIN_STEPS,
            high=MAX_STEPS,
            fallback=Fallback.STYLE,
            a1111="Steps",
        )
    )
    guidance: float = _declared(
        Param(
            "Guidance",
            f"How closely the image follows the prompt (classifier-free guidance), {MIN_GUIDANCE} "
            f"to {MAX_GUIDANCE}. Empty: the style's default.",
            Kind.NUMBER,
            low=MIN_GUIDANCE,
            high=MAX_GUIDANCE,
            fallback=Fallback.STYLE,
            a1111="CFG scale",
        )
    )
    scheduler: Scheduler = _declared(
        Param(
            "Scheduler",
            "The sampler that removes the noise step by step.",
            Kind.CHOICE,
            choices=Scheduler,
            a1111="Sampler",
        ),
        DEFAULT_SCHEDULER,
    )
    # A variation: the initial noise is the spherical interpolation from the seed's noise to
    # `variation_seed`'s, `variation_strength` of the way (0: the seed's image exactly).
    variation_seed: int | None = _declared(
        Param(
            "Variation seed",
            "A second seed whose noise is blended into the seed's (text to image only). Empty: no variation.",
            Kind.INTEGER,
            low=0,
            high=MAX_SEED,
            a1111="Variation seed",
            per_image=True,
            group="variation",
        ),
        None,
    )
    variation_strength: float = _declared(
        Param(
            "Variation strength",
            "How far towards the variation seed's image: 0 keeps the image, 1 gives the variation seed's.",
            Kind.NUMBER,
            low=0,
            high=1,
            a1111="Variation seed strength",
            per_image=True,
            group="variation",
        ),
        0.0,
    )
    # A starting image (an upload of the owner's): repainted `strength` of the way, everywhere
    # or, with a mask, only where the mask is white.
    init_image_id: str | None = _declared(
        Param(
            "Starting image",
            "An upload of yours to paint from (image to image).",
            Kind.UPLOAD,
            pattern=UPLOAD_ID.pattern,
            per_image=True,
            cli=False,
        ),
        None,
    )
    mask_image_id: str | None = _declared(
        Param(
            "Mask",
            "An upload of yours, the starting image's size: white is repainted, black kept (inpainting).",
            Kind.UPLOAD,
            pattern=UPLOAD_ID.pattern,
            per_image=True,
            cli=False,
        ),
        None,
    )
    strength: float | None = _declared(
        Param(
            "Strength",
            f"How much of the starting image is repainted: above {MIN_STRENGTH} and at most "
            f"{MAX_STRENGTH} (default {DEFAULT_STRENGTH}); only with a starting image.",
            Kind.NUMBER,
            low=MIN_STRENGTH,
            high=MAX_STRENGTH,
            above_low=True,
            cli=False,
        ),
        None,
    )
    loras: tuple[LoraWeight, ...] = _declared(
        Param(
            "LoRA adapters",
            f"Up to {MAX_LORAS} of the adapters offered here, each with a weight from "
            f"{MIN_LORA_WEIGHT} to {MAX_LORA_WEIGHT} (1: as trained).",
            Kind.ADAPTERS,
            low=MIN_LORA_WEIGHT,
            high=MAX_LORA_WEIGHT,
            max_length=MAX_LORAS,
            cli=False,
            search="lora",
        ),
        (),
    )
    clip_skip: int = _declared(
        Param(
            "Clip skip",
            f"Which layer of the text encoder the prompt is read from, counted from the last: "
            f"{MIN_CLIP_SKIP} (the last, as trained) to {MAX_CLIP_SKIP}; anime models often "
            "want 2.",
            Kind.INTEGER,
            low=MIN_CLIP_SKIP,
            high=MAX_CLIP_SKIP,
            a1111="Clip skip",
            since=5,
        ),
        MIN_CLIP_SKIP,
    )
    schedule: Schedule = _declared(
        Param(
            "Schedule",
            "How the noise levels are spaced over the steps: the scheduler's own spacing, "
            "Karras or exponential (DPM++ 2M, Euler and UniPC only).",
            Kind.CHOICE,
            choices=Schedule,
            a1111="Schedule type",
            since=5,
        ),
        Schedule.DEFAULT,
    )
    tiling: bool = _declared(
        Param(
            "Tiling",
            "A seamless texture: the image wraps around, its right edge continuing its left and "
            "its bottom its top.",
            Kind.FLAG,
            a1111="Tiling",
            since=5,
        ),
        False,
    )
    # The hires fix: drawn at the resolution, enlarged `hires_scale` times, then redrawn over
    # `hires_denoise` of the way at the larger size (text to image only).
    hires_scale: float | None = _declared(
        Param(
            "Hires scale",
            f"Draw at the resolution, then enlarge {MIN_HIRES_SCALE} to {MAX_HIRES_SCALE} times "
            f"(at most {MAX_OUTPUT_SIDE} px a side) and redraw the details at that size; priced "
            "by the final size. Empty: no second pass.",
            Kind.NUMBER,
            low=MIN_HIRES_SCALE,
            high=MAX_HIRES_SCALE,
            a1111="Hires upscale",
            group="hires",
            since=5,
        ),
        None,
    )
    hires_steps: int | None = _declared(
        Param(
            "Hires steps",
            f"Steps of the second pass, {MIN_STEPS} to {MAX_STEPS}, of which the denoise share "
            "runs. Empty: the image's steps.",
            Kind.INTEGER,
            low=MIN_STEPS,
            high=MAX_STEPS,
            a1111="Hires steps",
            group="hires",
            since=5,
        ),
        None,
    )
    hires_denoise: float | None = _declared(
        Param(
            "Hires denoise",
            f"How much the second pass redraws: above 0, at most 1 (default {DEFAULT_HIRES_DENOISE}).",
            Kind.NUMBER,
            low=0.0,
            high=1.0,
            above_low=True,
            a1111="Denoising strength",
            group="hires",
            since=5,
        ),
        None,
    )
    hires_upscaler: str | None = _declared(
        Param(
            "Hires upscaler",
            f"How the first pass is enlarged: {LATENT_UPSCALER!r} (its latents, the default), "
            f"{LANCZOS_UPSCALER!r} or an upscaler model offered here (GET /api/v1/models/upscalers).",
            Kind.NAME,
            max_length=100,
            pattern=OFFERED_NAME.pattern,
            a1111="Hires upscaler",
            group="hires",
            offered_by="upscalers",
            since=5,
        ),
        None,
    )
    fast: str | None = _declared(
        Param(
            "Fast mode",
            "One of the operator's few-step modes by name (its LoRA, scheduler, steps and "
            "guidance replace yours; its own price). Empty: the normal mode.",
            Kind.NAME,
            max_length=100,
            pattern=OFFERED_NAME.pattern,
            offered_by="fast_modes",
            cli=False,
            since=5,
        ),
        None,
    )
    preset: str | None = _declared(
        Param(
            "Preset",
            "One of your presets (or a shared one) by id: its template wraps the prompt, its "
            "negative prompt, style and settings apply where the request gives none.",
            Kind.TEXT,
            min_length=1,
            max_length=64,
            pattern=PRESET_ID.pattern,
            per_image=True,
            cli=False,
            since=5,
        ),
        None,
    )
    # What the service records: the prompts as written before their {a|b} choices and
    # __wildcards__ were drawn, and an upscale's source, factor and upscaler.
    prompt_template: str | None = _declared(
        Param(
            "Prompt template",
            "The prompt as written, before its choices were drawn.",
            Kind.TEXT,
            a1111="Template",
            per_image=True,
            cli=False,
            request=False,
            since=5,
        ),
        None,
    )
    negative_template: str | None = _declared(
        Param(
            "Negative template",
            "The negative prompt as written, before its choices were drawn.",
            Kind.TEXT,
            a1111="Negative Template",
            per_image=True,
            cli=False,
            request=False,
            since=5,
        ),
        None,
    )
    upscale_of: str | None = _declared(
        Param(
            "Upscaled image",
            "The image this one enlarges.",
            Kind.TEXT,
            per_image=True,
            cli=False,
            request=False,
            since=5,
        ),
        None,
    )
    upscale_factor: int | None = _declared(
        Param(
            "Upscale factor",
            "How many times larger than its source: 2 or 4.",
            Kind.INTEGER,
            low=2,
            high=4,
            a1111="Postprocess upscale by",
            cli=False,
            request=False,
            since=5,
        ),
        None,
    )
    upscaler: str | None = _declared(
        Param(
            "Upscaler",
            "The upscaler that enlarged it.",
            Kind.NAME,
            pattern=OFFERED_NAME.pattern,
            a1111="Postprocess upscaler",
            offered_by="upscalers",
            cli=False,
            request=False,
            since=5,
        ),
        None,
    )

    @classmethod
    def create(cls, **given: Any) -> GenerationParameters:
        """Check what was given (names or the domain's enums; None or absent: the default) and
        fill the rest. A `seed` is required here: the caller chooses one when absent."""
        unknown = sorted(set(given) - {d.name for d in parameter_fields()})
        if unknown:
            raise InvalidValue(unknown[0], f"unknown field {unknown[0]!r}")
        values = {d.name: _checked(d, given.get(d.name)) for d in parameter_fields()}
        if values["seed"] is None:
            raise InvalidValue("seed", "a seed is required")
        for description in parameter_fields():
            if values[description.name] is None and description.default is not MISSING:
                values[description.name] = description.default
        preset = preset_for(values["style"])
        for description in parameter_fields():
            if values[description.name] is None and description.param.fallback is Fallback.STYLE:
                values[description.name] = getattr(preset, description.name)
        _cross_checked(values)
        return cls(**values)

    @property
    def width(self) -> int:
        """The width the image is first drawn at (its resolution's)."""
        return self.resolution.width

    @property
    def height(self) -> int:
        return self.resolution.height

    @property
    def drawn_size(self) -> tuple[int, int]:
        """The size of the image drawn: the resolution's, or the second pass's (hires fix)."""
        return hires_size(self.width, self.height, self.hires_scale)

    @property
    def output_size(self) -> tuple[int, int]:
        """The size of the image delivered: as drawn, times the upscale factor if upscaled."""
        width, height = self.drawn_size
        factor = self.upscale_factor or 1
        return width * factor, height * factor

    @property
    def hires_pass_steps(self) -> int:
        """The steps the second pass runs (diffusers runs `int(steps * denoise)`); 0 without one."""
        if self.hires_scale is None or self.hires_denoise is None:
            return 0
        return int((self.hires_steps or self.steps) * self.hires_denoise)

    def styled_prompts(self) -> tuple[str, str]:
        """The prompt and negative prompt the model actually sees."""
        return preset_for(self.style).apply(self.prompt, self.negative_prompt)

    @property
    def mode(self) -> Mode:
        if self.upscale_of is not None:
            return Mode.UPSCALE
        if self.init_image_id is None:
            return Mode.TXT2IMG
        return Mode.INPAINT if self.mask_image_id is not None else Mode.IMG2IMG

    def batch_key(self) -> BatchKey:
        """The batch-compatibility rule: images whose fields agree except those declared
        `per_image` (prompts, style, seeds, starting images) denoise together; the mode splits
        batches too."""
        key: list[Any] = [self.mode.value]
        for description in parameter_fields():
            if not description.param.per_image:
                key.append(_plain(getattr(self, description.name)))
        return tuple(key)

    def fields(self) -> dict[str, ParameterValue]:
        """The fields by name, typed (enums stay enums; LoRAs as name/weight objects): the one
        spelling of the parameters that every outer shape (views, responses, rows) is made from."""
        out: dict[str, ParameterValue] = {}
        for description in parameter_fields():
            value = getattr(self, description.name)
            out[description.name] = [lora.to_dict() for lora in value] if isinstance(value, tuple) else value
        return out

    def to_dict(self) -> dict[str, ParameterValue]:
        """The fields as JSON values (events, stored rows, PNG text chunks)."""
        return {k: v.value if isinstance(v, StrEnum) else v for k, v in self.fields().items()}

    @classmethod
    def restore(cls, values: Mapping[str, Any]) -> GenerationParameters:
        """Parameters as `to_dict` spells them. Not re-validated: they were when the job was
        made, and re-validating would break old jobs whenever a rule gets stricter. A field
        missing (written before it existed) takes its default."""
        restored: dict[str, Any] = {}
        for description in parameter_fields():
            value = values.get(description.name)
            if value is None:
                value = None if description.default is MISSING else description.default
            restored[description.name] = _restored(description.param, value)
        return cls(**restored)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestOptions:
    """What a request says besides its images' parameters."""

    num_images: int = _declared(
        Param(
            "Images",
            f"1 to {MAX_IMAGES_PER_REQUEST} images with consecutive seeds (with a variation: "
            "consecutive variation seeds), charged all or none.",
            Kind.INTEGER,
            low=1,
            high=MAX_IMAGES_PER_REQUEST,
            cli=False,
        ),
        1,
    )
    is_public: bool = _declared(
        Param("Public", "Public images appear in the gallery for everyone.", Kind.FLAG, cli=False), False
    )
    companion_id: str | None = _declared(
        Param(
            "Companion",
            "The companion the image is for (the platform's id).",
            Kind.TEXT,
            min_length=1,
            max_length=MAX_COMPANION_ID,
            cli=False,
        ),
        None,
    )
    deadline_seconds: int | None = _declared(
        Param(
            "Deadline",
            f"Seconds (1 to {MAX_DEADLINE_SECONDS}) within which the image must have started: one "
            "still waiting then ends EXPIRED, fully refunded, and is never started. None: no deadline.",
            Kind.INTEGER,
            low=1,
            high=MAX_DEADLINE_SECONDS,
            cli=False,
            since=2,
        ),
        None,
    )
    webhook_url: str | None = _declared(
        Param(
            "Webhook URL",
            "An http(s) URL that receives this request's job events as signed Standard Webhooks "
            "(retried until answered 2xx). None: no webhook of its own.",
            Kind.URL,
            max_length=MAX_URL_LENGTH,
            cli=False,
            since=3,
        ),
        None,
    )
    webhook_events: tuple[WebhookEvent, ...] | None = _declared(
        Param(
            "Webhook events",
            "Which events go to webhook_url. None: all of them.",
            Kind.CHOICES,
            choices=WebhookEvent,
            max_length=len(WebhookEvent),
            cli=False,
            since=3,
        ),
        None,
    )

    @classmethod
    def create(cls, **given: Any) -> RequestOptions:
        values = {d.name: _checked(d, given.get(d.name)) for d in option_fields()}
        return cls(**{k: v for k, v in values.items() if v is not None})


@dataclass(frozen=True, slots=True)
class FieldDescription:
    """One declared field: its name, its `Param`, its fixed default (MISSING: none; see
    `param.fallback`) and whether it belongs to each image (else to the request)."""

    name: str
    param: Param
    default: Any
    per_request: bool = False

    @property
    def optional(self) -> bool:
        return not self.param.required


def _describe(cls: type, per_request: bool) -> tuple[FieldDescription, ...]:
    return tuple(FieldDescription(f.name, f.metadata[PARAM], f.default, per_request) for f in fields(cls))


@cache
def parameter_fields() -> tuple[FieldDescription, ...]:
    """The fields of one image's parameters, in declaration order."""
    return _describe(GenerationParameters, False)


@cache
def option_fields() -> tuple[FieldDescription, ...]:
    return _describe(RequestOptions, True)


@cache
def request_fields() -> tuple[FieldDescription, ...]:
    """Every field a generation request takes: the parameters (but those only the service
    sets), then the request's options."""
    return tuple(d for d in parameter_fields() if d.param.request) + option_fields()


def hires_size(width: int, height: int, scale: float | None) -> tuple[int, int]:
    """A size enlarged `scale` times, each side rounded to a multiple of 8 (the latents' grid)."""
    if scale is None:
        return width, height
    return round(width * scale / 8) * 8, round(height * scale / 8) * 8


@cache
def names_of(fields: tuple[FieldDescription, ...]) -> frozenset[str]:
    """The names of `fields` (one of the lists above), for membership tests."""
    return frozenset(d.name for d in fields)


@cache
def grouped(group: str) -> tuple[str, ...]:
    """The names of the fields declared in `group` (the hires fix's, a variation's), in order."""
    return tuple(d.name for d in parameter_fields() if d.param.group == group)


@cache
def search_fields() -> tuple[FieldDescription, ...]:
    """The fields images can be found by, in declaration order: each is named in a search by
    its `param.search`."""
    return tuple(d for d in parameter_fields() if d.param.search is not None)


def search_value(description: FieldDescription, value: Any) -> Any:
    """What a search filter on this field looks for, checked like the field itself and named
    by the filter (None, or an empty string: no filter). Text is taken for numbers, as a query
    string holds it; an ADAPTERS field takes one adapter's name."""
    name, param = cast(str, description.param.search), description.param
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if param.kind is Kind.ADAPTERS:
        if not isinstance(value, str) or not LORA_NAME.fullmatch(value.strip()):
            raise InvalidValue(name, f"{name} must be an adapter's name: letters, digits, '.', '_' and '-'")
        return value.strip()
    if param.kind in (Kind.INTEGER, Kind.NUMBER) and isinstance(value, str):
        try:
            value = int(value) if param.kind is Kind.INTEGER else float(value)
        except ValueError:
            raise InvalidValue(name, _bounds(name, param)) from None
    named = FieldDescription(name, param, MISSING, description.per_request)
    return _checked(named, value.strip() if isinstance(value, str) else value)


def search_matches(description: FieldDescription, held: Any, wanted: Any) -> bool:
    """Whether an image whose field holds `held` is found by a filter for `wanted`
    (a value of `search_value`)."""
    if description.param.kind is Kind.ADAPTERS:
        return any(lora.name == wanted for lora in held)
    return bool(held == wanted)


def field_named(name: str) -> FieldDescription:
    for description in request_fields():
        if description.name == name:
            return description
    raise KeyError(name)


# --- checks ---------------------------------------------------------------------------------


def validate_prompt(prompt: str, field: str = "prompt", required: bool = True) -> str:
    text = " ".join(prompt.split())
    if required and not text:
        raise InvalidValue(field, f"{field} must not be empty")
    if len(text) > MAX_PROMPT_LENGTH:
        raise InvalidValue(field, f"{field} is longer than {MAX_PROMPT_LENGTH} characters")
    return text


def validate_seed(seed: int, field: str = "seed") -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidValue(field, f"{field} must be an integer between 0 and {MAX_SEED}")
    return seed


def consecutive_seeds(first: int, count: int) -> list[int]:
    """The seeds of `count` images asked for at once: `first`, `first + 1`, … (wrapping past
    the largest seed), as AUTOMATIC1111 numbers a batch."""
    if not 1 <= count <= MAX_IMAGES_PER_REQUEST:
        raise InvalidValue("num_images", f"num_images must be between 1 and {MAX_IMAGES_PER_REQUEST}")
    return [(validate_seed(first) + i) % (MAX_SEED + 1) for i in range(count)]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bounds(name: str, param: Param) -> str:
    if param.above_low:
        return f"{name} must be above {param.low} and at most {param.high}"
    return f"{name} must be between {param.low} and {param.high}"


def _checked(description: FieldDescription, value: Any) -> Any:
    """One field's value, checked against its declaration (None: not given)."""
    name, param = description.name, description.param
    if value is None:
        if param.required:
            raise InvalidValue(name, f"{name} is required")
        return None
    if param.kind is Kind.TEXT and param.pattern is not None and isinstance(value, str):
        if not re.fullmatch(param.pattern, value.strip()):
            raise InvalidValue(name, f"{name} must be an id (letters, digits, '-' and '_')")
        return value.strip()
    if param.kind is Kind.TEXT:
        if not isinstance(value, str):
            raise InvalidValue(name, f"{name} must be text")
        text = " ".join(value.split()) if not description.per_request else value
        if param.min_length and len(text) < param.min_length:
            raise InvalidValue(name, f"{name} must not be empty")
        if param.max_length is not None and len(text) > param.max_length:
            raise InvalidValue(name, f"{name} is longer than {param.max_length} characters")
        return text
    if param.kind is Kind.CHOICE:
        assert param.choices is not None
        if value == "" and description.default is not MISSING:
            return None  # an empty choice is no choice: the default
        return param.choices.parse(value)  # type: ignore[attr-defined]
    if param.kind is Kind.FLAG:
        if not isinstance(value, bool):
            raise InvalidValue(name, f"{name} must be true or false")
        return value
    if param.kind is Kind.UPLOAD:
        if not isinstance(value, str) or param.pattern is None or not re.fullmatch(param.pattern, value):
            raise InvalidValue(name, f"{name} must be an upload id (letters, digits, '-' and '_')")
        return value
    if param.kind is Kind.ADAPTERS:
        return _adapters(name, param, value)
    if param.kind is Kind.NAME:
        if value == "":
            return None  # an empty choice is no choice
        if not isinstance(value, str) or not OFFERED_NAME.fullmatch(value.strip()):
            raise InvalidValue(name, f"{name} must be a name: letters, digits, '.', '_' and '-'")
        return value.strip()
    if param.kind is Kind.MODEL:
        if value == "":
            return None  # an empty choice is no choice: the default model
        if not isinstance(value, str) or not MODEL_NAME.fullmatch(value.strip().lower()):
            raise InvalidValue(
                name, f"{name} must be a model's name: lower-case letters, digits, '.', '_' and '-'"
            )
        return value.strip().lower()
    if param.kind is Kind.URL:
        if not isinstance(value, str):
            raise InvalidValue(name, f"{name} must be an http(s) URL")
        return check_url(value.strip(), name)
    if param.kind is Kind.CHOICES:
        return _several(name, param, value)
    if not _number(value) or (param.kind is Kind.INTEGER and not isinstance(value, int)):
        raise InvalidValue(name, _bounds(name, param))
    low = param.low if param.low is not None else -math.inf
    high = param.high if param.high is not None else math.inf
    # Written so that NaN, which compares false with everything, is refused too.
    if not (low <= value <= high) or (param.above_low and value == low):
        raise InvalidValue(name, _bounds(name, param))
    return value if param.kind is Kind.INTEGER else float(value)


def _several(name: str, param: Param, value: Any) -> tuple[Any, ...] | None:
    """Values of the field's enum, each once, in the enum's order; an empty list is none."""
    assert param.choices is not None
    if isinstance(value, str) or not isinstance(value, list | tuple):
        allowed = ", ".join(c.value for c in param.choices)
        raise InvalidValue(name, f"{name} must be a list of: {allowed}")
    chosen = {param.choices.parse(item) for item in value}  # type: ignore[attr-defined]
    return tuple(c for c in param.choices if c in chosen) or None


def _adapters(name: str, param: Param, value: Any) -> tuple[LoraWeight, ...]:
    """At most three adapters, each named once, each weighted 0 to 2 (which names exist is the
    operator's list: the application checks it)."""
    chosen = tuple(  # names and weights as given: checked below
        LoraWeight(cast(str, item.get("name")), item.get("weight", 1.0))
        if isinstance(item, Mapping)
        else item
        for item in value
    )
    if param.max_length is not None and len(chosen) > param.max_length:
        raise InvalidValue(name, f"at most {param.max_length} LoRA adapters per image")
    seen: set[str] = set()
    for lora in chosen:
        if (
            not isinstance(lora, LoraWeight)
            or not isinstance(lora.name, str)
            or not LORA_NAME.fullmatch(lora.name)
        ):
            raise InvalidValue(name, f"LoRA name {getattr(lora, 'name', lora)!r} is not a valid adapter name")
        if lora.name in seen:
            raise InvalidValue(name, f"LoRA {lora.name!r} is given twice")
        seen.add(lora.name)
        weight = lora.weight
        if not _number(weight) or not (MIN_LORA_WEIGHT <= weight <= MAX_LORA_WEIGHT):
            raise InvalidValue(name, f"LoRA weights must be between {MIN_LORA_WEIGHT} and {MAX_LORA_WEIGHT}")
    return tuple(LoraWeight(lora.name, float(lora.weight)) for lora in chosen)


def _cross_checked(values: dict[str, Any]) -> None:
    """The rules between fields: a variation needs its seed (and is dropped at strength 0); a
    mask and a strength need a starting image, whose strength leaves at least one step to run
    (diffusers runs `int(steps * strength)` of them); variations are for text to image only;
    see also `_sampling_checked` and `_hires_checked`."""
    _sampling_checked(values)
    _hires_checked(values)
    _upscale_checked(values)
    if values["variation_seed"] is None and values["variation_strength"] > 0:
        raise InvalidValue("variation_seed", "a variation_strength above 0 needs a variation_seed")
    if values["variation_strength"] == 0:
        values["variation_seed"] = None
    if values["init_image_id"] is None:
        if values["mask_image_id"] is not None:
            raise InvalidValue("mask_image_id", "a mask_image_id needs an init_image_id (the image it masks)")
        if values["strength"] is not None:
            raise InvalidValue("strength", "strength applies only with an init_image_id")
        return
    if values["strength"] is None:
        values["strength"] = DEFAULT_STRENGTH
    steps, strength = values["steps"], values["strength"]
    if int(steps * strength) < 1:
        raise InvalidValue(
            "strength", f"strength {strength} of {steps} steps runs no step: raise the strength or the steps"
        )
    if values["variation_strength"] > 0:
        raise InvalidValue("variation_seed", "variations apply to text-to-image only (no init_image_id)")


def _sampling_checked(values: dict[str, Any]) -> None:
    """A spacing of the noise levels only where the scheduler has one to change."""
    scheduler, schedule = values["scheduler"], values["schedule"]
    if schedule is Schedule.DEFAULT:
        return
    if scheduler in (Scheduler.DPMPP_2M, Scheduler.DPMPP_2M_KARRAS) and schedule is Schedule.KARRAS:
        # one name for one sampler: DPM++ 2M with Karras spacing is dpmpp_2m_karras
        values["scheduler"], values["schedule"] = Scheduler.DPMPP_2M_KARRAS, Schedule.DEFAULT
        return
    if scheduler is Scheduler.DPMPP_2M_KARRAS:
        raise InvalidValue(
            "schedule", "dpmpp_2m_karras is Karras-spaced already: choose dpmpp_2m for another schedule"
        )
    if scheduler not in SPACED_SCHEDULERS:
        allowed = tuple(sorted(s.value for s in SPACED_SCHEDULERS))
        raise InvalidValue(
            "schedule",
            f"the {scheduler.value} scheduler has no {schedule.value} schedule; it applies to: "
            f"{', '.join(allowed)}",
            allowed,
        )


def _hires_checked(values: dict[str, Any]) -> None:
    """The second pass: text to image only, at most MAX_OUTPUT_SIDE a side, with at least one
    step to run; without a scale its other settings mean nothing and are dropped."""
    if values["hires_scale"] is None:
        for name in grouped("hires"):
            values[name] = None
        return
    if values["init_image_id"] is not None:
        raise InvalidValue("hires_scale", "the hires fix applies to text to image only (no init_image_id)")
    resolution: Resolution = values["resolution"]
    width, height = hires_size(resolution.width, resolution.height, values["hires_scale"])
    if max(width, height) > MAX_OUTPUT_SIDE:
        largest = math.floor(MAX_OUTPUT_SIDE / max(resolution.width, resolution.height) * 100) / 100
        raise InvalidValue(
            "hires_scale",
            f"{resolution.value} times {values['hires_scale']} is {width}x{height}: at most "
            f"{MAX_OUTPUT_SIDE} px a side, so a hires_scale of at most {largest} here",
        )
    if values["hires_denoise"] is None:
        values["hires_denoise"] = DEFAULT_HIRES_DENOISE
    if values["hires_upscaler"] is None:
        values["hires_upscaler"] = LATENT_UPSCALER
    steps = values["hires_steps"] or values["steps"]
    if int(steps * values["hires_denoise"]) < 1:
        raise InvalidValue(
            "hires_denoise",
            f"hires_denoise {values['hires_denoise']} of {steps} steps runs no step: raise it or the steps",
        )


def _upscale_checked(values: dict[str, Any]) -> None:
    if values["upscale_of"] is None:
        values["upscale_factor"] = values["upscaler"] = None
        return
    if values["upscale_factor"] not in UPSCALE_FACTORS:
        allowed = tuple(str(f) for f in UPSCALE_FACTORS)
        raise InvalidValue("factor", f"an upscale factor is one of: {', '.join(allowed)}", allowed)
    if values["upscaler"] is None:
        values["upscaler"] = LANCZOS_UPSCALER


def without_inactive(values: dict[str, Any]) -> dict[str, Any]:
    """`values` without a variation that does nothing (no strength above 0, or no seed)."""
    if not values.get("variation_strength") or values.get("variation_seed") is None:
        values.pop("variation_strength", None)
        values.pop("variation_seed", None)
    if values.get("hires_scale") is None:
        for name in grouped("hires"):
            values.pop(name, None)
    return values


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):  # adapters: as a set of (name, weight), order-free
        return tuple(sorted((lora.name, float(lora.weight)) for lora in value))
    if isinstance(value, StrEnum):
        return value.value
    return float(value) if isinstance(value, float) else value


def _restored(param: Param, value: Any) -> Any:
    if value is None:
        return None
    if param.kind is Kind.CHOICE:
        assert param.choices is not None
        return param.choices(value)
    if param.kind is Kind.ADAPTERS:
        return tuple(LoraWeight(str(item["name"]), float(item["weight"])) for item in value or ())
    if param.kind is Kind.INTEGER:
        return int(value)
    if param.kind is Kind.NUMBER:
        return float(value)
    return value
