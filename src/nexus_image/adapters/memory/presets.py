"""In-memory presets: staged like the other in-memory repositories, checked and applied at commit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nexus_image.adapters.memory.repositories import _Entities, _page
from nexus_image.application.errors import Conflict
from nexus_image.application.ports import Page
from nexus_image.domain.preset import Preset

if TYPE_CHECKING:
    from nexus_image.adapters.memory.database import MemoryStore


def _name_taken(preset: Preset) -> Conflict:
    return Conflict(f"a preset named {preset.name!r} already exists")


def _newest_first(presets: list[Preset]) -> list[Preset]:
    return sorted(presets, key=lambda p: (p.created_at, p.id), reverse=True)


class MemoryPresets(_Entities[Preset]):
    """Names are unique per owner: checked when written, and again at commit against what
    other units committed meanwhile (the SQL adapter's unique constraint)."""

    def __init__(self, store: MemoryStore) -> None:
        super().__init__(store, store.presets)

    def add(self, preset: Preset) -> None:
        self._unique_name(preset, self.merged())
        self._add(preset)

    def save(self, preset: Preset) -> None:
        self._unique_name(preset, self.merged())
        super().save(preset)

    @staticmethod
    def _unique_name(preset: Preset, others: list[Preset]) -> None:
        for other in others:
            if other.owner_id == preset.owner_id and other.name == preset.name and other.id != preset.id:
                raise _name_taken(preset)

    def check(self) -> None:
        super().check()
        committed = list(self.table.values())
        for preset in (p for p in self.writes.values() if p is not None):
            self._unique_name(preset, [p for p in committed if p.id not in self.writes])

    def list_by_owner(self, owner_id: str, page: int, size: int) -> Page[Preset]:
        return _page(_newest_first([p for p in self.merged() if p.owner_id == owner_id]), page, size)

    def list_public(self, page: int, size: int) -> Page[Preset]:
        return _page(_newest_first([p for p in self.merged() if p.is_public]), page, size)
