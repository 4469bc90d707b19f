"""Presets: a user's saved prompt templates and settings. The owner sees and changes their
own; a public one anyone may read (and copy by export and import) but only its owner changes;
somebody else's private preset answers exactly like a missing one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nexus_image.application.access import check_page, owned_preset, resolve_preset
from nexus_image.application.ports import Clock, IdGenerator, Page, UnitOfWork, UnitOfWorkFactory
from nexus_image.application.transactions import in_transaction
from nexus_image.domain.preset import MAX_PRESET_NAME, MAX_PRESETS_PER_USER, Preset, PresetLimitReached


@dataclass(frozen=True, slots=True)
class PresetView:
    id: str
    owner_id: str
    name: str
    template: str
    negative_prompt: str
    style: str | None
    parameters: dict[str, Any]
    is_public: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, preset: Preset) -> PresetView:
        style = preset.style.value if preset.style is not None else None
        return cls(
            preset.id,
            preset.owner_id,
            preset.name,
            preset.template,
            preset.negative_prompt,
            style,
            dict(preset.parameters),
            preset.is_public,
            preset.created_at,
            preset.updated_at,
        )


def free_name(name: str, taken: set[str]) -> str:
    """`name`, or the first of "name (2)", "name (3)", ... that the owner does not use yet (the
    base shortened where the suffix would make the name too long)."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        suffix = f" ({number})"
        candidate = name[: MAX_PRESET_NAME - len(suffix)].rstrip() + suffix
    return candidate


@dataclass(slots=True)
class ManagePresets:
    """Names are unique per owner (Conflict); an owner keeps at most `max_per_user` presets."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    max_per_user: int = MAX_PRESETS_PER_USER

    def create(self, owner_id: str, **fields: object) -> PresetView:
        """`fields`: name (required), template, negative_prompt, style, parameters, is_public."""
        preset = Preset.create(self.ids.new_id(), owner_id, self.clock.now(), **fields)

        def work(uow: UnitOfWork) -> Preset:
            self._require_room(uow, owner_id)
            uow.presets.add(preset)
            return preset

        return PresetView.of(in_transaction(self.uow_factory, work))

    def get(self, user_id: str, preset_id: str) -> PresetView:
        with self.uow_factory() as uow:
            return PresetView.of(resolve_preset(uow, user_id, preset_id))

    def list_mine(self, owner_id: str, page: int = 0, size: int = 20) -> Page[PresetView]:
        check_page(page, size)
        with self.uow_factory() as uow:
            found = uow.presets.list_by_owner(owner_id, page, size)
        return Page([PresetView.of(p) for p in found.items], found.total, page, size)

    def list_public(self, page: int = 0, size: int = 20) -> Page[PresetView]:
        """The presets everyone shared, newest first."""
        check_page(page, size)
        with self.uow_factory() as uow:
            found = uow.presets.list_public(page, size)
        return Page([PresetView.of(p) for p in found.items], found.total, page, size)

    def update(self, owner_id: str, preset_id: str, changes: Mapping[str, object]) -> PresetView:
        """Change the fields given (name, template, negative_prompt, style, parameters as a
        whole, is_public); the others stay."""

        def work(uow: UnitOfWork) -> Preset:
            preset = owned_preset(uow, owner_id, preset_id)
            preset.revise(changes, self.clock.now())
            uow.presets.save(preset)
            return preset

        return PresetView.of(in_transaction(self.uow_factory, work))

    def delete(self, owner_id: str, preset_id: str) -> None:
        def work(uow: UnitOfWork) -> None:
            owned_preset(uow, owner_id, preset_id)
            uow.presets.delete(preset_id)

        in_transaction(self.uow_factory, work)

    def export(self, user_id: str, preset_id: str) -> dict[str, Any]:
        """The portable document of a preset the caller may read (their own or a public one)."""
        with self.uow_factory() as uow:
            return resolve_preset(uow, user_id, preset_id).to_document()

    def import_document(self, owner_id: str, document: Mapping[str, object]) -> PresetView:
        """A new private preset of the importer's, from an exported document. A name the
        importer already uses gets the first free " (2)", " (3)", ... suffix rather than a
        conflict: importing the same file twice keeps both."""
        now = self.clock.now()
        preset = Preset.from_document(document, self.ids.new_id(), owner_id, now)
        wanted = preset.name

        def work(uow: UnitOfWork) -> Preset:
            self._require_room(uow, owner_id)
            everything = uow.presets.list_by_owner(owner_id, 0, max(self.max_per_user, 1)).items
            preset.name = free_name(wanted, {p.name for p in everything})
            uow.presets.add(preset)
            return preset

        return PresetView.of(in_transaction(self.uow_factory, work))

    def applied(self, user_id: str, preset_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """A generation request's image fields with the preset `preset_id` applied (see
        `Preset.applied_to`); the preset is the caller's own or a shared one, else NotFound."""
        with self.uow_factory() as uow:
            preset = resolve_preset(uow, user_id, preset_id)
        return preset.applied_to(fields)

    def _require_room(self, uow: UnitOfWork, owner_id: str) -> None:
        if uow.presets.list_by_owner(owner_id, 0, 1).total >= self.max_per_user:
            raise PresetLimitReached(self.max_per_user)
