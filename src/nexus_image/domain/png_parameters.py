"""Generation parameters read back from a PNG's text: ours (a JSON `parameters` chunk) and
AUTOMATIC1111's (a `parameters` text chunk: the prompt, `Negative prompt: …`, then one line of
`Key: value` settings), as the fields a generate request takes.

A1111's settings line is `Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7,
Seed: 42, Size: 512x512, Model: …`; a value holding commas is double-quoted. Settings with no
equivalent here (a size we do not render, a sampler we do not have, the model, hires fix…) are
returned as `unsupported`, never silently dropped."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from nexus_image.domain.parameters import (
    MAX_GUIDANCE,
    MAX_SEED,
    MAX_STEPS,
    MIN_GUIDANCE,
    MIN_STEPS,
    Scheduler,
)
from nexus_image.domain.resolution import Resolution
from nexus_image.domain.styles import Style

# Keys are short ("Variation seed strength"): bounding them keeps the search linear on a long line.
SETTING = re.compile(r'\s*(\w[\w \-/]{0,63}):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
MAX_TEXT = 64 * 1024  # a real `parameters` text is a few hundred bytes; longer is not read
NEGATIVE = "Negative prompt:"
GENERATE_FIELDS = (
    "prompt", "negative_prompt", "style", "resolution", "seed", "steps", "guidance", "scheduler",
    "variation_seed", "variation_strength", "init_image_id", "mask_image_id", "strength", "loras",
)  # fmt: skip
SAMPLERS: dict[str, Scheduler] = {
    "dpm++ 2m karras": Scheduler.DPMPP_2M_KARRAS,
    "dpm++ 2m": Scheduler.DPMPP_2M,
    "euler a": Scheduler.EULER_ANCESTRAL,
    "euler": Scheduler.EULER,
    "ddim": Scheduler.DDIM,
    "unipc": Scheduler.UNIPC,
    "plms": Scheduler.PNDM,
    "pndm": Scheduler.PNDM,
}


@dataclass(frozen=True, slots=True)
class FoundParameters:
    """`parameters`: ready to send to generate; `source`: whose format; `unsupported`: the
    settings found that have no equivalent here, as they were written."""

    source: str
    parameters: dict[str, Any]
    unsupported: dict[str, str] = field(default_factory=dict)


def read_parameters(chunks: dict[str, str]) -> FoundParameters | None:
    """The parameters in a PNG's text chunks, or None when there are none we can read."""
    text = chunks.get("parameters")
    if text is None or len(text) > MAX_TEXT:
        return None
    ours = _ours(text)
    return ours if ours is not None else automatic1111(text)


def _ours(text: str) -> FoundParameters | None:
    try:
        found = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
        return None
    if not isinstance(found, dict) or not isinstance(found.get("prompt"), str):
        return None
    parameters = {k: found[k] for k in GENERATE_FIELDS if found.get(k) is not None}
    extra = {k: str(v) for k, v in found.items() if k not in GENERATE_FIELDS and k != "model"}
    if parameters.get("variation_strength") == 0:
        parameters.pop("variation_strength")
        parameters.pop("variation_seed", None)
    loras = parameters.pop("loras", None)
    if loras and _adapters(loras):
        parameters["loras"] = [{"name": lora["name"], "weight": lora["weight"]} for lora in loras]
    elif loras:
        extra["loras"] = json.dumps(loras)[:200]
    return FoundParameters("nexus-image", parameters, extra)


def _adapters(value: object) -> bool:
    """A list of {"name": text, "weight": number}, as the generate request takes it."""
    return isinstance(value, list) and all(
        isinstance(item, dict)
        and isinstance(item.get("name"), str)
        and isinstance(item.get("weight"), int | float)
        and not isinstance(item.get("weight"), bool)
        for item in value
    )


def unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            loaded = json.loads(value)
        except ValueError:
            return value[1:-1]
        return loaded if isinstance(loaded, str) else value[1:-1]
    return value


def settings_of(line: str) -> dict[str, str] | None:
    """The `Key: value` pairs of an A1111 settings line, or None when the line is not one (a
    prompt line may hold a colon; a settings line holds at least three pairs)."""
    found = {key.strip(): unquote(value) for key, value in SETTING.findall(line)}
    return found if len(found) >= 3 else None


def automatic1111(text: str) -> FoundParameters | None:
    lines = text.strip().split("\n")
    settings = settings_of(lines[-1]) if len(lines) > 1 or NEGATIVE not in lines[0] else None
    if settings is not None:
        lines = lines[:-1]
    prompt_lines: list[str] = []
    negative_lines: list[str] = []
    for line in lines:
        if negative_lines or line.startswith(NEGATIVE):
            negative_lines.append(line[len(NEGATIVE) :] if not negative_lines else line)
        else:
            prompt_lines.append(line)
    prompt = "\n".join(prompt_lines).strip()
    if not prompt:
        return None
    parameters: dict[str, Any] = {"prompt": prompt}
    negative = "\n".join(negative_lines).strip()
    if negative:
        parameters["negative_prompt"] = negative
    unsupported = _settings(settings or {}, parameters)
    parameters.setdefault("style", Style.REALISTIC.value)
    return FoundParameters("automatic1111", parameters, unsupported)


def _settings(settings: dict[str, str], parameters: dict[str, Any]) -> dict[str, str]:
    """Move what has an equivalent into `parameters`; the rest is returned."""
    rest = dict(settings)
    whole = _integer(rest.pop("Steps", None), MIN_STEPS, MAX_STEPS)
    if whole is not None:
        parameters["steps"] = whole
    elif "Steps" in settings:
        rest["Steps"] = settings["Steps"]
    guidance = _number(rest.pop("CFG scale", None), MIN_GUIDANCE, MAX_GUIDANCE)
    if guidance is not None:
        parameters["guidance"] = guidance
    elif "CFG scale" in settings:
        rest["CFG scale"] = settings["CFG scale"]
    seed = _integer(rest.pop("Seed", None), 0, MAX_SEED)
    if seed is not None:
        parameters["seed"] = seed
    elif settings.get("Seed") not in (None, "-1"):
        rest["Seed"] = settings["Seed"]
    size = rest.pop("Size", None)
    if size is not None:
        if size.strip() in {r.value for r in Resolution}:
            parameters["resolution"] = size.strip()
        else:
            rest["Size"] = size
    sampler = rest.pop("Sampler", None)
    if sampler is not None:
        schedule = rest.pop("Schedule type", "")
        name = sampler.strip().lower()
        if schedule.strip().lower() == "karras" and not name.endswith("karras"):
            name = f"{name} karras"
        scheduler = SAMPLERS.get(name)
        if scheduler is not None:
            parameters["scheduler"] = scheduler.value
        else:
            rest["Sampler"] = sampler + (f" ({schedule})" if schedule else "")
    variation_seed = _integer(rest.pop("Variation seed", None), 0, MAX_SEED)
    strength = _number(rest.pop("Variation seed strength", None), 0.0, 1.0)
    if variation_seed is not None and strength is not None and strength > 0:
        parameters["variation_seed"] = variation_seed
        parameters["variation_strength"] = strength
    return rest


def _integer(value: str | None, low: int, high: int) -> int | None:
    if value is None or not re.fullmatch(r"\s*\d{1,12}\s*", value):
        return None
    number = int(value)
    return number if low <= number <= high else None


def _number(value: str | None, low: float, high: float) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and low <= number <= high else None
