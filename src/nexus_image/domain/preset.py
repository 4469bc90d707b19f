"""User presets: a user's own prompt template, negative prompt, built-in style and generation
parameters, saved under a name, applied to a prompt when asked, shared publicly if the owner
wants, and carried between installations as a JSON document (like InvokeAI's style presets and
AUTOMATIC1111's styles). The five built-in styles are not presets: a preset may name one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any

from nexus_image.domain.errors import AccessDenied, DomainError, InvalidValue
from nexus_image.domain.names import canonical_name
from nexus_image.domain.parameters import (
    _checked,
    field_named,
    names_of,
    parameter_fields,
    request_fields,
    validate_prompt,
)
from nexus_image.domain.styles import Style

MAX_PRESET_NAME = 100
MAX_PRESETS_PER_USER = 200
PLACEHOLDER = "{prompt}"
DOCUMENT_FORMAT = "nexus-image.preset"
DOCUMENT_VERSION = 1
DOCUMENT_KEYS = ("format", "version", "name", "template", "negative_prompt", "style", "parameters")
# A preset holds what suits every prompt: not the prompt, the seed or the user's own uploads
# (they belong to one request), nor the negative prompt and style (fields of the preset itself),
# nor a preset of its own.
NOT_PARAMETERS = frozenset(
    {"prompt", "seed", "init_image_id", "mask_image_id", "negative_prompt", "style", "preset"}
)


class PresetLimitReached(DomainError):
    """The owner already keeps as many presets as allowed."""

    code = "preset_limit_reached"

    def __init__(self, limit: int) -> None:
        super().__init__(f"you have {limit} presets, the most kept at once: delete some first")
        self.limit = limit


@cache
def preset_parameter_names() -> tuple[str, ...]:
    """The generation fields a preset may set, in declaration order: one image's parameters
    that a request may give (not those only the service records), less `NOT_PARAMETERS`."""
    requested = names_of(request_fields())
    return tuple(d.name for d in parameter_fields() if d.name in requested and d.name not in NOT_PARAMETERS)


def _plain(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, tuple):  # LoRA adapters
        return [lora.to_dict() for lora in value]
    return value


def check_parameters(given: object) -> dict[str, Any]:
    """The parameters as JSON values, each checked by its declaration (`parameters.<name>` names
    a field at fault); a null value is left out. Rules between fields (a strength needs a
    starting image) apply when a request uses the preset, with that request's fields."""
    if not isinstance(given, Mapping):
        raise InvalidValue("parameters", "parameters must be an object of generation fields")
    allowed = preset_parameter_names()
    checked: dict[str, Any] = {}
    for name, value in given.items():
        if name not in allowed:
            raise InvalidValue(
                f"parameters.{name}",
                f"{name!r} is not a preset parameter; allowed: {', '.join(allowed)}",
                allowed,
            )
        try:
            plain = _plain(_checked(field_named(name), value))
        except InvalidValue as error:
            raise type(error)(f"parameters.{name}", error.message, error.allowed) from None
        if plain is not None:
            checked[name] = plain
    return {name: checked[name] for name in allowed if name in checked}


def validate_preset_name(name: object) -> str:
    """The canonical name: names that differ only in Unicode form or spacing collide."""
    clean = canonical_name(name) if isinstance(name, str) else ""
    if not clean or len(clean) > MAX_PRESET_NAME:
        raise InvalidValue("name", f"preset name must have 1 to {MAX_PRESET_NAME} characters")
    return clean


def _text(field: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise InvalidValue(field, f"{field} must be text")
        return validate_prompt(value, field, required=False)

    return check


def _style(value: object) -> Style | None:
    if value is None or value == "":
        return None
    return Style.parse(value)  # type: ignore[arg-type]  # anything else is refused there


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidValue("is_public", "is_public must be true or false")
    return value


CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": validate_preset_name,
    "template": _text("template"),
    "negative_prompt": _text("negative_prompt"),
    "style": _style,
    "parameters": check_parameters,
    "is_public": _flag,
}


@dataclass(slots=True)
class Preset:
    id: str
    owner_id: str
    name: str
    template: str
    negative_prompt: str
    style: Style | None
    parameters: dict[str, Any]
    is_public: bool
    created_at: datetime
    updated_at: datetime
    version: int = 0

    @classmethod
    def create(cls, preset_id: str, owner_id: str, at: datetime, **given: object) -> Preset:
        """A new preset from the fields of `CHECKS` (only `name` is required), each checked."""
        values = _checked_fields(given)
        if "name" not in values:
            raise InvalidValue("name", "a preset needs a name")
        defaults: dict[str, Any] = {
            "template": "",
            "negative_prompt": "",
            "style": None,
            "parameters": {},
            "is_public": False,
        }
        return cls(preset_id, owner_id, created_at=at, updated_at=at, **{**defaults, **values})

    def revise(self, changes: Mapping[str, object], at: datetime) -> None:
        """Change the fields named in `changes` (any of `CHECKS`), all or none."""
        values = _checked_fields(changes)
        for name, value in values.items():
            setattr(self, name, value)
        self.updated_at = at

    def visible_to(self, user_id: str) -> bool:
        return self.is_public or self.owner_id == user_id

    def ensure_owner(self, user_id: str) -> None:
        if self.owner_id != user_id:
            raise AccessDenied(f"preset {self.id} does not belong to the caller")

    def apply(self, prompt: str) -> str:
        """The user's prompt put in the template at each `{prompt}`; a template without one is
        added after the prompt, joined by ", " (as AUTOMATIC1111's styles do)."""
        if PLACEHOLDER in self.template:
            return self.template.replace(PLACEHOLDER, prompt)
        return ", ".join(part for part in (prompt, self.template) if part)

    def apply_negative(self, negative_prompt: str) -> str:
        """The user's negative prompt first, then the preset's."""
        return ", ".join(part for part in (negative_prompt.strip(), self.negative_prompt) if part)

    def applied_to(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """A request's image fields with the preset applied: the prompt put in the template, the
        preset's negative prompt after the request's, and the preset's style and parameters
        wherever the request gives none (what the request says wins)."""
        applied = dict(fields)
        if isinstance(fields.get("prompt"), str):
            applied["prompt"] = self.apply(fields["prompt"])
        negative = fields.get("negative_prompt")
        if self.negative_prompt:
            applied["negative_prompt"] = self.apply_negative(negative if isinstance(negative, str) else "")
        defaults = {"style": self.style.value if self.style is not None else None, **self.parameters}
        for name, value in defaults.items():
            if value is not None and fields.get(name) in (None, ""):
                applied[name] = value
        return applied

    def to_document(self) -> dict[str, Any]:
        """The portable form (no id, owner, visibility or times): what `from_document` reads."""
        return {
            "format": DOCUMENT_FORMAT,
            "version": DOCUMENT_VERSION,
            "name": self.name,
            "template": self.template,
            "negative_prompt": self.negative_prompt,
            "style": self.style.value if self.style is not None else None,
            "parameters": dict(self.parameters),
        }

    @classmethod
    def from_document(cls, document: object, preset_id: str, owner_id: str, at: datetime) -> Preset:
        """A new private preset of `owner_id` from an exported document, checked like any other."""
        return cls.create(preset_id, owner_id, at, **read_document(document))


def read_document(document: object) -> dict[str, object]:
    """The preset fields of an exported document, after checking its format and version."""
    if not isinstance(document, Mapping):
        raise InvalidValue("document", "a preset document is a JSON object")
    unknown = sorted(str(key) for key in set(document) - set(DOCUMENT_KEYS))
    if unknown:
        raise InvalidValue(unknown[0], f"unknown field {unknown[0]!r} in a preset document", DOCUMENT_KEYS)
    if document.get("format") != DOCUMENT_FORMAT:
        raise InvalidValue(
            "format", f"not a preset document: format must be {DOCUMENT_FORMAT!r}", (DOCUMENT_FORMAT,)
        )
    version = document.get("version")
    if type(version) is not int or version != DOCUMENT_VERSION:
        raise InvalidValue(
            "version",
            f"preset document version {version!r} is not supported (supported: {DOCUMENT_VERSION})",
            (str(DOCUMENT_VERSION),),
        )
    return {key: value for key, value in document.items() if key not in ("format", "version")}


def _checked_fields(given: Mapping[str, object]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(CHECKS))
    if unknown:
        raise InvalidValue(unknown[0], f"unknown preset field {unknown[0]!r}", tuple(CHECKS))
    return {name: CHECKS[name](value) for name, value in given.items()}
