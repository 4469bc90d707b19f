"""What travels over HTTP for presets: their bodies and responses. A preset's `parameters`
object is derived from the same declarations as a generate request's fields (bounds, choices,
descriptions), less what a preset cannot hold."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from nexus_image.application.presets import PresetView
from nexus_image.domain.parameters import MAX_PROMPT_LENGTH, field_named
from nexus_image.domain.preset import DOCUMENT_FORMAT, MAX_PRESET_NAME, preset_parameter_names
from nexus_image.domain.styles import Style
from nexus_image.entrypoints.http.schemas import body_field

PresetName = Annotated[str, Meta(min_length=1, max_length=MAX_PRESET_NAME)]
Template = Annotated[
    str,
    Meta(
        max_length=MAX_PROMPT_LENGTH,
        description="The prompt goes where `{prompt}` is; a template without it is added after "
        'the prompt (joined by ", ").',
    ),
]
NegativePrompt = Annotated[
    str, Meta(max_length=MAX_PROMPT_LENGTH, description="Added after the request's own negative prompt.")
]

if TYPE_CHECKING:

    class PresetParameters(Struct): ...

else:
    PresetParameters = msgspec.defstruct(
        "PresetParameters",
        [body_field(field_named(name), partial=True) for name in preset_parameter_names()],
        kw_only=True,
        forbid_unknown_fields=True,
        omit_defaults=True,
        module=__name__,
        namespace={"__doc__": "Generation fields a request using the preset gets where it gives none."},
    )


def parameters_of(body: Any) -> dict[str, Any]:
    """The fields given, as plain JSON values (a null is not given)."""
    return {k: v for k, v in msgspec.to_builtins(body).items() if v is not None}


def _no_parameters() -> Any:
    return PresetParameters()


class PresetRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """A new preset: only `name` is required (unique among the caller's presets)."""

    name: PresetName
    template: Template = ""
    negative_prompt: NegativePrompt = ""
    style: Style | None = None
    parameters: PresetParameters = msgspec.field(default_factory=_no_parameters)
    is_public: bool = False

    def fields(self) -> dict[str, object]:
        plain = {name: getattr(self, name) for name in self.__struct_fields__}
        return {**plain, "parameters": parameters_of(self.parameters)}


class PresetChanges(Struct, forbid_unknown_fields=True, kw_only=True):
    """What changes: the fields given (`style: null` removes the style; `parameters` replaces
    the whole object); the others stay."""

    name: PresetName | UnsetType = UNSET
    template: Template | UnsetType = UNSET
    negative_prompt: NegativePrompt | UnsetType = UNSET
    style: Style | UnsetType | None = UNSET
    parameters: PresetParameters | UnsetType = UNSET
    is_public: bool | UnsetType = UNSET

    def changes(self) -> dict[str, object]:
        given = {n: getattr(self, n) for n in self.__struct_fields__ if getattr(self, n) is not UNSET}
        if "parameters" in given:
            given["parameters"] = parameters_of(given["parameters"])
        return given


class PresetDocument(Struct, forbid_unknown_fields=True, kw_only=True):
    """A preset as a portable file: what `GET /presets/{id}/export` gives and
    `POST /presets/import` takes (`format` is "nexus-image.preset", `version` 1)."""

    format: Annotated[str, Meta(max_length=64, examples=[DOCUMENT_FORMAT])]
    version: int
    name: PresetName
    template: Template = ""
    negative_prompt: NegativePrompt = ""
    style: Style | None = None
    parameters: PresetParameters = msgspec.field(default_factory=_no_parameters)

    def document(self) -> dict[str, object]:
        plain = {name: getattr(self, name) for name in self.__struct_fields__}
        return {**plain, "parameters": parameters_of(self.parameters)}

    @classmethod
    def of(cls, document: dict[str, Any]) -> PresetDocument:
        return msgspec.convert(document, cls)


class PresetResponse(Struct, kw_only=True):
    id: str
    owner_id: str
    name: str
    template: str
    negative_prompt: str
    style: Style | None
    parameters: PresetParameters
    is_public: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: PresetView) -> PresetResponse:
        return cls(
            id=view.id,
            owner_id=view.owner_id,
            name=view.name,
            template=view.template,
            negative_prompt=view.negative_prompt,
            style=Style(view.style) if view.style is not None else None,
            parameters=msgspec.convert(view.parameters, PresetParameters),
            is_public=view.is_public,
            created_at=view.created_at.astimezone(UTC),
            updated_at=view.updated_at.astimezone(UTC),
        )


class PresetPage(Struct, kw_only=True):
    items: list[PresetResponse]
    total: int
    page: int
    size: int


def attachment(name: str) -> str:
    """A Content-Disposition naming the file after the preset: an ASCII fallback, and the name
    itself (RFC 6266 / RFC 5987) for clients that read it."""
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:80] or "preset"
    return f"attachment; filename=\"{fallback}.preset.json\"; filename*=UTF-8''{quote(name)}.preset.json"
