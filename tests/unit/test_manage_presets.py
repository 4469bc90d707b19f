"""The preset use cases on the in-memory database: ownership, sharing, names, the limit, import."""

from __future__ import annotations

import pytest

from nexus_image.application import Conflict, NotFound
from nexus_image.application.access import resolve_preset
from nexus_image.application.presets import ManagePresets, free_name
from nexus_image.domain import AccessDenied, InvalidValue
from nexus_image.domain.preset import PresetLimitReached
from nexus_image.testing import ManualClock, MemoryStore, SequentialIds


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def presets(store: MemoryStore, clock: ManualClock) -> ManagePresets:
    return ManagePresets(store.unit_of_work, clock, SequentialIds("preset"), max_per_user=5)


def test_create_list_rename_and_delete(presets: ManagePresets, clock: ManualClock) -> None:
    first = presets.create("alice", name="Noir", template="{prompt}, film noir", parameters={"steps": 20})
    clock.advance(seconds=1)
    second = presets.create("alice", name="Ink", style="sketch")
    assert [p.name for p in presets.list_mine("alice").items] == ["Ink", "Noir"]
    clock.advance(seconds=1)
    renamed = presets.update("alice", first.id, {"name": "Noir 2", "parameters": {"guidance": 9}})
    assert (renamed.name, renamed.parameters, renamed.template) == (
        "Noir 2",
        {"guidance": 9.0},
        "{prompt}, film noir",
    )
    assert renamed.updated_at > renamed.created_at
    presets.delete("alice", second.id)
    mine = presets.list_mine("alice")
    assert mine.total == 1 and [p.id for p in mine.items] == [first.id]
    with pytest.raises(NotFound):
        presets.get("alice", second.id)


def test_names_are_unique_per_owner(presets: ManagePresets) -> None:
    presets.create("alice", name="Noir")
    presets.create("bob", name="Noir")  # another owner's names are no concern
    other = presets.create("alice", name="Ink")
    with pytest.raises(Conflict):
        presets.create("alice", name="  Noir ")
    with pytest.raises(Conflict):
        presets.update("alice", other.id, {"name": "Noir"})
    assert presets.list_mine("alice").total == 2


def test_an_owner_keeps_at_most_the_limit(presets: ManagePresets) -> None:
    for number in range(5):
        presets.create("alice", name=f"p{number}")
    with pytest.raises(PresetLimitReached):
        presets.create("alice", name="one more")
    document = presets.export("alice", presets.list_mine("alice").items[0].id)
    with pytest.raises(PresetLimitReached):
        presets.import_document("alice", document)
    assert presets.create("bob", name="p0").owner_id == "bob"


def test_someone_elses_private_preset_is_answered_like_a_missing_one(presets: ManagePresets) -> None:
    private = presets.create("alice", name="Secret")
    answers = []
    for preset_id in (private.id, "no-such-preset"):
        attempts = (
            lambda: presets.get("bob", preset_id),  # noqa: B023
            lambda: presets.update("bob", preset_id, {"name": "mine now"}),  # noqa: B023
            lambda: presets.delete("bob", preset_id),  # noqa: B023
            lambda: presets.export("bob", preset_id),  # noqa: B023
        )
        for attempt in attempts:
            with pytest.raises(NotFound) as refused:
                attempt()
            answers.append((refused.value.code, str(refused.value).replace(preset_id, "ID")))
    assert len(set(answers)) == 1
    assert presets.list_mine("bob").total == 0 and presets.list_public().total == 0
    assert presets.get("alice", private.id).name == "Secret"


def test_a_shared_preset_is_readable_by_anyone_and_changed_by_its_owner_only(
    presets: ManagePresets, store: MemoryStore, clock: ManualClock
) -> None:
    shared = presets.create("alice", name="Noir", is_public=True)
    clock.advance(seconds=1)
    newer = presets.create("carol", name="Pastel")
    presets.update("carol", newer.id, {"is_public": True})
    assert presets.get("bob", shared.id).name == "Noir"
    assert presets.export("bob", shared.id)["name"] == "Noir"
    assert [p.name for p in presets.list_public().items] == ["Pastel", "Noir"]
    assert presets.list_public(page=1, size=1).items[0].id == shared.id
    with pytest.raises(AccessDenied) as refused:
        presets.update("bob", shared.id, {"name": "taken over"})
    assert not isinstance(refused.value, NotFound)
    with pytest.raises(AccessDenied):
        presets.delete("bob", shared.id)
    with store.unit_of_work() as uow:
        assert resolve_preset(uow, "bob", shared.id).owner_id == "alice"
    presets.update("alice", shared.id, {"is_public": False})
    with store.unit_of_work() as uow, pytest.raises(NotFound):
        resolve_preset(uow, "bob", shared.id)


def test_import_makes_a_private_copy_for_the_importer_with_a_free_name(presets: ManagePresets) -> None:
    original = presets.create(
        "alice",
        name="Noir",
        template="{prompt}, film noir",
        negative_prompt="colour",
        style="realistic",
        parameters={"steps": 25, "scheduler": "euler"},
        is_public=True,
    )
    document = presets.export("bob", original.id)
    copies = [presets.import_document("bob", document) for _ in range(3)]
    assert [c.name for c in copies] == ["Noir", "Noir (2)", "Noir (3)"]
    for copy in copies:
        assert copy.owner_id == "bob" and copy.id != original.id and copy.is_public is False
        assert (copy.template, copy.negative_prompt, copy.style, copy.parameters) == (
            original.template,
            original.negative_prompt,
            original.style,
            original.parameters,
        )
    assert presets.import_document("alice", document).name == "Noir (2)"


def test_import_refuses_a_document_of_another_format(presets: ManagePresets) -> None:
    with pytest.raises(InvalidValue) as refused:
        presets.import_document("bob", {"format": "a1111.styles", "version": 1, "name": "x"})
    assert refused.value.field == "format"
    assert presets.list_mine("bob").total == 0


def test_a_free_name_stays_within_the_length() -> None:
    assert free_name("Noir", set()) == "Noir"
    assert free_name("Noir", {"Noir", "Noir (2)"}) == "Noir (3)"
    long = "x" * 100
    suffixed = free_name(long, {long})
    assert suffixed == "x" * 96 + " (2)" and len(suffixed) == 100


def test_pages_are_checked(presets: ManagePresets) -> None:
    with pytest.raises(InvalidValue):
        presets.list_mine("alice", page=-1)
    with pytest.raises(InvalidValue):
        presets.list_public(size=1000)


def test_the_request_path_applies_a_visible_preset_only(presets: ManagePresets) -> None:
    shared = presets.create("alice", name="Noir", template="{prompt}, noir", is_public=True)
    private = presets.create("alice", name="Ink", template="ink {prompt}")
    assert presets.applied("bob", shared.id, {"prompt": "a fox"}) == {"prompt": "a fox, noir"}
    assert presets.applied("alice", private.id, {"prompt": "a fox"}) == {"prompt": "ink a fox"}
    with pytest.raises(NotFound):
        presets.applied("bob", private.id, {"prompt": "a fox"})
