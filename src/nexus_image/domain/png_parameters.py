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
    MODEL_NAME,
    Fallback,
    FieldDescription,
    Kind,
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
    """The fields of a generate request that a PNG's parameters may fill: every declared one."""
    return tuple(d.name for d in parameter_fields())


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
    names = generate_fields()
    parameters = without_inactive({k: found[k] for k in names if found.get(k) is not None})
    extra = {k: str(v) for k, v in found.items() if k not in names}
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
    for description in parameter_fields():
        label = description.param.a1111
        if label is None or label not in rest:
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
    if param.kind is not Kind.CHOICE or param.choices is None:
        return None
    if param.choices is Scheduler:
        schedule = rest.pop(SCHEDULE_TYPE, "")
        name = text.strip().lower()
        if schedule.strip().lower() == "karras" and not name.endswith("karras"):
            name = f"{name} karras"
        found = A1111_SAMPLERS.get(name)
        if found is None and schedule:
            rest[SCHEDULE_TYPE] = schedule
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
