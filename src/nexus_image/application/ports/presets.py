"""Where users' presets are kept."""

from __future__ import annotations

from typing import Protocol

from nexus_image.application.ports.repositories import Page
from nexus_image.domain.preset import Preset


class PresetRepository(Protocol):
    def add(self, preset: Preset) -> None:
        """Raises Conflict when the owner already has a preset with that name."""

    def get(self, preset_id: str) -> Preset | None: ...
    def save(self, preset: Preset) -> None:
        """Raises Conflict on a name the owner already uses, ConcurrentUpdate when the preset
        changed (or went) since it was read."""

    def delete(self, preset_id: str) -> None: ...
    def list_by_owner(self, owner_id: str, page: int, size: int) -> Page[Preset]:
        """The owner's presets, public or not, newest first (ties by id, descending)."""

    def list_public(self, page: int, size: int) -> Page[Preset]:
        """Everyone's public presets, newest first (ties by id, descending)."""
