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
    A1111_SAMPLERS,
    A1111_SCHEDULES,
    LANCZOS_UPSCALER,
    LATENT_UPSCALER,
    MODEL_NAME,
    OFFERED_NAME,
    Fallback,
    FieldDescription,
    GenerationParameters,
    Kind,
    Schedule,
    Scheduler,
    parameter_fields,
    without_inactive,
)
from nexus_image.domain.styles import Style

# Keys are short ("Variation seed strength"): bounding them keeps the search linear on a long line.
SETTING = re.compile(r'\s*(\w[\w \-/]{0,63}):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
MAX_TEXT = 64 * 1024  # a real `parameters` text is a few hundred bytes; longer is not read
NEGATIVE_LABEL = "Negative prompt"  # A1111 writes it on its own line, after the prompt
NEGATIVE = f"{NEGATIVE_LABEL}:"
SCHEDULE_TYPE = "Schedule type"  # A1111 writes Karras apart from the sampler's name


def generate_fields() -> tuple[str, ...]:
    """The fields of a generate request that a PNG's parameters may fill: every declared one
    that a request takes."""
    return tuple(d.name for d in parameter_fields() if d.param.request)


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
    found = ours if ours is not None else automatic1111(text)
    if found is None:
        return None
    # NUL is in no text a request may carry (PostgreSQL stores none): what is read back is sent
    # back as it is, so it goes here, wherever it was (raw, or escaped in JSON).
    return FoundParameters(
        found.source,
        _without_nul(found.parameters),
        {k.replace("\x00", ""): v.replace("\x00", "") for k, v in found.unsupported.items()},
    )


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def _ours(text: str) -> FoundParameters | None:
    try:
        found = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
        return None
    if not isinstance(found, dict) or not isinstance(found.get("prompt"), str):
        return None
    names = generate_fields()
    if isinstance(found.get("prompt_template"), str):  # drawn again from the seed: the same text
        found["prompt"] = found.pop("prompt_template")
    if isinstance(found.get("negative_template"), str):
        found["negative_prompt"] = found.pop("negative_template")
    parameters = without_inactive({k: found[k] for k in names if found.get(k) is not None})
    extra = {k: str(v) for k, v in found.items() if k not in names and v is not None}
    model = parameters.get("model")
    if model is not None and not (isinstance(model, str) and MODEL_NAME.fullmatch(model)):
        extra["model"] = str(parameters.pop("model"))[:200]  # an old PNG's description of its model
    for description in parameter_fields():
        adapters = parameters.pop(description.name, None) if description.param.kind is Kind.ADAPTERS else None
        if adapters and _adapters(adapters):
            parameters[description.name] = [{"name": a["name"], "weight": a["weight"]} for a in adapters]
        elif adapters:
            extra[description.name] = json.dumps(adapters)[:200]
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
        parameters[_labelled(NEGATIVE_LABEL)] = negative
    unsupported = _settings(settings or {}, parameters)
    parameters.setdefault("style", Style.REALISTIC.value)
    return FoundParameters("automatic1111", parameters, unsupported)


def _settings(settings: dict[str, str], parameters: dict[str, Any]) -> dict[str, str]:
    """Move what has an equivalent into `parameters` (each declared field by its A1111 label);
    the rest is returned as it was written."""
    rest = dict(settings)
    if "Hires upscale" not in rest and "Denoising strength" in rest:
        settings = {k: v for k, v in settings.items() if k != "Denoising strength"}  # image to image's
    for template, name in (("Template", "prompt"), ("Negative Template", "negative_prompt")):
        if rest.get(template, "").strip():
            parameters[name] = rest.pop(template).strip()  # drawn again from the seed: the same text
    for description in parameter_fields():
        label = description.param.a1111
        if label is None or label not in rest or not description.param.request:
            continue
        if label == "Denoising strength" and "Hires upscale" not in settings:
            continue
        text = rest.pop(label)
        value = _setting(description, text, rest)
        if value is not None:
            parameters[description.name] = value
        elif description.param.fallback is Fallback.RANDOM and text.strip() == "-1":
            pass  # A1111's "a random one": absent here too
        else:
            rest[label] = text
    without_inactive(parameters)
    return rest


def _labelled(label: str) -> str:
    """The declared field that A1111 writes as `label`."""
    return next(d.name for d in parameter_fields() if d.param.a1111 == label)


def _setting(description: FieldDescription, text: str, rest: dict[str, str]) -> Any:
    param = description.param
    low = param.low if param.low is not None else 0
    high = param.high if param.high is not None else float("inf")
    if param.kind is Kind.INTEGER:
        return _integer(text, int(low), int(high))
    if param.kind is Kind.NUMBER:
        number = _number(text, low, high)
        return None if number is None or (param.above_low and number == low) else number
    if param.kind is Kind.FLAG:
        return {"true": True, "false": False}.get(text.strip().lower())
    if param.kind is Kind.NAME:
        name = text.strip()
        if name.lower() in (LATENT_UPSCALER, LANCZOS_UPSCALER):
            return name.lower()
        return name if OFFERED_NAME.fullmatch(name) else None
    if param.kind is not Kind.CHOICE or param.choices is None:
        return None
    if param.choices is Schedule:
        found_schedule = {v.lower(): k for k, v in A1111_SCHEDULES.items()}.get(text.strip().lower())
        return found_schedule.value if found_schedule is not None else None
    if param.choices is Scheduler:
        schedule = rest.get(SCHEDULE_TYPE, "")
        name = text.strip().lower()
        if schedule.strip().lower() == "karras" and f"{name} karras" in A1111_SAMPLERS:
            rest.pop(SCHEDULE_TYPE)  # DPM++ 2M Karras is a scheduler of its own here
            name = f"{name} karras"
        found = A1111_SAMPLERS.get(name)
        return found.value if found is not None else None
    values = {choice.value for choice in param.choices}
    return text.strip() if text.strip() in values else None


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


# Our schedulers as AUTOMATIC1111 names its samplers (its Karras variant is a schedule type).
A1111_SAMPLER_NAMES: dict[Scheduler, str] = {
    Scheduler.DPMPP_2M: "DPM++ 2M",
    Scheduler.DPMPP_2M_KARRAS: "DPM++ 2M",
    Scheduler.EULER: "Euler",
    Scheduler.EULER_ANCESTRAL: "Euler a",
    Scheduler.DDIM: "DDIM",
    Scheduler.UNIPC: "UniPC",
    Scheduler.PNDM: "PLMS",
    Scheduler.LCM: "LCM",
    Scheduler.TCD: "TCD",
}
A1111_UPSCALER_NAMES = {LATENT_UPSCALER: "Latent", LANCZOS_UPSCALER: "Lanczos"}


def _a1111_value(description: FieldDescription, value: object) -> str | None:
    if value is None or value == () or description.param.kind is Kind.ADAPTERS:
        return None
    if isinstance(value, Scheduler):
        return A1111_SAMPLER_NAMES[value]
    if isinstance(value, Schedule):
        return A1111_SCHEDULES[value]
    if isinstance(value, bool):
        return str(value)
    if description.param.kind is Kind.NAME and isinstance(value, str):
        value = A1111_UPSCALER_NAMES.get(value, value)
    text = value.value if hasattr(value, "value") else str(value)
    return json.dumps(text) if any(c in text for c in ',:"\n') else text


def a1111_text(parameters: GenerationParameters, model: str | None = None) -> str:
    """The parameters as AUTOMATIC1111 writes them in a PNG: the prompt, `Negative prompt: …`,
    then one line of `Label: value` settings (each declared field by its A1111 label; the
    defaults that A1111 leaves out — clip skip 1, no tiling, the scheduler's own schedule —
    left out too). `automatic1111` reads it back to the same request."""
    settings: list[tuple[str, str]] = []
    values = without_inactive(parameters.to_dict())
    for description in parameter_fields():
        label = description.param.a1111
        if label is None or label == "Negative prompt" or description.name not in values:
            continue
        value = getattr(parameters, description.name)
        if description.name == "schedule" and parameters.scheduler is Scheduler.DPMPP_2M_KARRAS:
            value = Schedule.KARRAS
        if value == description.default and description.name in ("clip_skip", "tiling", "schedule"):
            continue
        text = _a1111_value(description, value)
        if text is not None:
            settings.append((label, text))
    if model:
        settings.append(("Model", json.dumps(model) if "," in model else model))
    lines = [parameters.prompt]
    if parameters.negative_prompt:
        lines.append(f"{NEGATIVE} {parameters.negative_prompt}")
    lines.append(", ".join(f"{label}: {text}" for label, text in settings))
    return "\n".join(lines)
