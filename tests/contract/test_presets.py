"""The preset repository, called directly: what every adapter must do the same way."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from nexus_image.application import ConcurrentUpdate, Conflict
from nexus_image.domain.preset import Preset
from tests.support.builders import T0

from .conftest import Backend

PARAMETERS = {
    "resolution": "768x768",
    "steps": 28,
    "guidance": 6.5,
    "scheduler": "euler_a",
    "variation_seed": 4_000_000_000,
    "strength": 0.35,
    "loras": [{"name": "ink-v2", "weight": 0.8}, {"name": "grain", "weight": 1.25}],
}


def make(preset_id: str, owner: str = "alice", seconds: int = 0, **fields: Any) -> Preset:
    values = {"name": f"preset {preset_id}", **fields}
    return Preset.create(preset_id, owner, T0 + timedelta(seconds=seconds), **values)


def add(backend: Backend, *presets: Preset) -> None:
    with backend.uow_factory() as uow:
        for preset in presets:
            uow.presets.add(preset)
        uow.commit()


def save(backend: Backend, preset: Preset) -> None:
    with backend.uow_factory() as uow:
        uow.presets.save(preset)
        uow.commit()


def test_a_preset_round_trips_with_every_field(backend: Backend) -> None:
    full = make(
        "p1",
        name="Film noir ✦ 35mm",
        template="cinematic still of {prompt}, grain",
        negative_prompt="colour, blur",
        style="3d",
        parameters=PARAMETERS,
        is_public=True,
    )
    bare = make("p2")
    add(backend, full, bare)
    with backend.uow_factory() as uow:
        assert uow.presets.get("p1") == full
        assert uow.presets.get("p2") == bare
        assert uow.presets.get("nope") is None
    with backend.uow_factory() as uow:
        stored = uow.presets.get("p1")
        assert stored is not None and stored.created_at.utcoffset() == timedelta(0)
        stored.revise({"style": None, "parameters": {}, "name": "renamed"}, T0 + timedelta(hours=1))
        uow.presets.save(stored)
        uow.commit()
    with backend.uow_factory() as uow:
        final = uow.presets.get("p1")
    assert final == replace(stored, version=1)
    assert final is not None and final.created_at == full.created_at and final.style is None


def test_names_are_unique_per_owner(backend: Backend) -> None:
    add(backend, make("a1", name="noir"), make("a2", name="ink"), make("b1", owner="bob", name="noir"))
    with backend.uow_factory() as uow, pytest.raises(Conflict):
        uow.presets.add(make("a3", name="noir"))
    with backend.uow_factory() as uow:
        ink = uow.presets.get("a2")
    assert ink is not None
    ink.revise({"name": "noir"}, T0)
    with backend.uow_factory() as uow, pytest.raises(Conflict):
        uow.presets.save(ink)
    with backend.uow_factory() as uow:
        assert sorted(p.name for p in uow.presets.list_by_owner("alice", 0, 10).items) == ["ink", "noir"]


def test_a_stale_save_is_a_concurrent_update_and_a_deleted_one_too(backend: Backend) -> None:
    add(backend, make("p1"))
    copies = []
    for _ in range(2):
        with backend.uow_factory() as uow:
            copies.append(uow.presets.get("p1"))
    first, second = copies
    assert first is not None and second is not None
    first.revise({"template": "one {prompt}"}, T0)
    second.revise({"template": "two {prompt}"}, T0)
    save(backend, first)
    with pytest.raises(ConcurrentUpdate):
        save(backend, second)
    with backend.uow_factory() as uow:
        uow.presets.delete("p1")
        uow.commit()
    with pytest.raises(ConcurrentUpdate):
        save(backend, first)


def test_nothing_is_kept_without_a_commit(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        uow.presets.add(make("p1"))
        assert uow.presets.get("p1") is not None  # a unit sees its own writes
    with backend.uow_factory() as uow:
        assert uow.presets.get("p1") is None
        assert uow.presets.list_by_owner("alice", 0, 10).total == 0


def test_listings_are_newest_first_paged_and_ties_go_by_id(backend: Backend) -> None:
    add(
        backend,
        make("a", seconds=1),
        make("c", seconds=2, is_public=True),
        make("b", seconds=2),
        make("d", seconds=3, owner="bob", is_public=True),
        make("e", seconds=0, owner="bob"),
    )
    with backend.uow_factory() as uow:
        mine = uow.presets.list_by_owner("alice", 0, 2)
        rest = uow.presets.list_by_owner("alice", 1, 2)
        public = uow.presets.list_public(0, 10)
        nobody = uow.presets.list_by_owner("carol", 0, 10)
    assert ([p.id for p in mine.items], mine.total) == (["c", "b"], 3)
    assert ([p.id for p in rest.items], rest.total, rest.page) == (["a"], 3, 1)
    assert ([p.id for p in public.items], public.total) == (["d", "c"], 2)
    assert (nobody.items, nobody.total) == ([], 0)


def test_delete_removes_only_that_preset(backend: Backend) -> None:
    add(backend, make("p1"), make("p2", is_public=True))
    with backend.uow_factory() as uow:
        uow.presets.delete("p2")
        uow.commit()
    with backend.uow_factory() as uow:
        assert uow.presets.get("p2") is None and uow.presets.get("p1") is not None
        assert uow.presets.list_public(0, 10).total == 0
