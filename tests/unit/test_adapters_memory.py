"""The in-memory store behaves like a database: rollback by default, version conflicts."""

from __future__ import annotations

import pytest

from nexus_image.application import ConcurrentUpdate

from .conftest import World


def test_nothing_is_kept_without_commit(world: World) -> None:
    job = world.request()
    with world.store.unit_of_work() as uow:
        loaded = uow.jobs.get(job.id)
        assert loaded is not None
        loaded.set_visibility(True)
        uow.jobs.save(loaded)
    assert world.service.get_image("alice", job.id).is_public is False


def test_concurrent_writers_conflict(world: World) -> None:
    job = world.request()
    first, second = world.store.unit_of_work(), world.store.unit_of_work()
    a, b = first.jobs.get(job.id), second.jobs.get(job.id)
    assert a is not None and b is not None
    a.start(world.clock.now(), "w1")
    b.cancel(world.clock.now())
    first.jobs.save(a)
    first.commit()
    second.jobs.save(b)
    with pytest.raises(ConcurrentUpdate):
        second.commit()
    assert world.service.get_image("alice", job.id).status == "PROCESSING"
