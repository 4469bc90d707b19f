"""Presets in SQL: one row per preset, its parameters one JSON document."""

from __future__ import annotations

import sqlalchemy as sa

from nexus_image.adapters.sqlalchemy.base import SqlRepository
from nexus_image.adapters.sqlalchemy.mappers import preset_from_row, preset_values
from nexus_image.adapters.sqlalchemy.tables import presets
from nexus_image.application.errors import Conflict
from nexus_image.application.ports import Page
from nexus_image.domain.preset import Preset


def _name_taken(preset: Preset) -> Conflict:
    return Conflict(f"a preset named {preset.name!r} already exists")


class SqlPresets(SqlRepository):
    """Names are unique per owner (a constraint; Conflict); saves are guarded by the version."""

    def _check_name(self, preset: Preset) -> None:
        taken = sa.select(presets.c.id).where(
            presets.c.owner_id == preset.owner_id, presets.c.name == preset.name, presets.c.id != preset.id
        )
        if self.execute(taken.limit(1)).first() is not None:
            raise _name_taken(preset)

    def add(self, preset: Preset) -> None:
        self._check_name(preset)
        statement = sa.insert(presets).values(**preset_values(preset), version=preset.version)
        self.execute(statement, on_unique=lambda: _name_taken(preset))

    def get(self, preset_id: str) -> Preset | None:
        row = self.execute(sa.select(presets).where(presets.c.id == preset_id)).mappings().first()
        return preset_from_row(row) if row is not None else None

    def save(self, preset: Preset) -> None:
        self._check_name(preset)
        values = preset_values(preset)
        for fixed in ("id", "owner_id", "created_at"):
            values.pop(fixed)
        self.guarded_update(presets, presets.c.id, preset.id, preset.version, values)

    def delete(self, preset_id: str) -> None:
        self.execute(sa.delete(presets).where(presets.c.id == preset_id))

    def list_by_owner(self, owner_id: str, page: int, size: int) -> Page[Preset]:
        return self._page(presets.c.owner_id == owner_id, page, size)

    def list_public(self, page: int, size: int) -> Page[Preset]:
        return self._page(presets.c.is_public == sa.true(), page, size)

    def _page(self, where: sa.ColumnElement[bool], page: int, size: int) -> Page[Preset]:
        total = self.execute(sa.select(sa.func.count()).select_from(presets).where(where)).scalar_one()
        statement = (
            sa.select(presets)
            .where(where)
            .order_by(presets.c.created_at.desc(), presets.c.id.desc())
            .limit(size)
            .offset(page * size)
        )
        return Page([preset_from_row(row) for row in self.execute(statement).mappings()], total, page, size)
