"""Retention's repository queries, the same on every adapter: which rows `expiring` answers (the
domain rule `ExpirySelection.covers`), in which order and pages, and the tombstones' place in
listings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from nexus_image.domain import Album, ImageJob, JobStatus
from nexus_image.domain.retention import EVERY_PROTECTION, ExpirySelection, Protection
from tests.support.builders import T0, make_job

from .conftest import Backend

CUTOFF = T0 + timedelta(days=10)


def finished(job_id: str, day: float, tier: str = "free", user: str = "alice", **fields: Any) -> ImageJob:
    job = make_job(job_id, user, created=timedelta(days=day), tier=tier, **fields)
    job.start(job.created_at, "w")
    job.complete(job.created_at + timedelta(seconds=3), f"images/{job_id}.png", f"thumbs/{job_id}.webp")
    return job


@pytest.fixture
def world(backend: Backend) -> Backend:
    """Rows of every kind around the cutoff: expired plain ones, protected ones, young ones,
    unfinished ones, other tiers, one already removed."""
    queued = make_job("queued", created=timedelta(days=1), tier="free")
    failed = make_job("failed", created=timedelta(days=2), tier="free")
    failed.fail(T0 + timedelta(days=2), "boom")
    removed = finished("removed", 1)
    removed.remove_data(T0 + timedelta(days=20))
    rows = [
        finished("a-old", 1),
        finished("b-old", 1),  # same instant as a-old: ties by id
        finished("fav", 2),
        finished("fav-other", 2),  # favorited by someone else only
        finished("album", 3),
        finished("public", 4, is_public=True),
        finished("young", 11),
        finished("edge", 10),  # created exactly at the cutoff: not before it
        finished("pro", 1, tier="pro"),
        finished("renamed", 5, tier="basic"),
        queued,
        failed,
        removed,
    ]
    with backend.uow_factory() as uow:
        for job in rows:
            uow.jobs.add(job)
        uow.favorites.add("alice", "fav", T0)
        uow.favorites.add("carol", "fav-other", T0)
        uow.albums.add(Album("al1", "alice", "keep", T0, image_ids=["album"]))
        uow.commit()
    return backend


def ids(jobs: list[ImageJob]) -> list[str]:
    return [job.id for job in jobs]


@pytest.mark.parametrize(
    ("keeps", "expected"),
    [
        (EVERY_PROTECTION, ["a-old", "b-old", "failed", "fav-other"]),
        (frozenset(), ["a-old", "b-old", "failed", "fav", "fav-other", "album", "public"]),
        (frozenset({Protection.FAVORITE}), ["a-old", "b-old", "failed", "fav-other", "album", "public"]),
        (frozenset({Protection.ALBUM}), ["a-old", "b-old", "failed", "fav", "fav-other", "public"]),
        (frozenset({Protection.PUBLIC}), ["a-old", "b-old", "failed", "fav", "fav-other", "album"]),
    ],
)
def test_expiring_answers_the_rows_the_rule_covers_oldest_first(
    world: Backend, keeps: frozenset[Protection], expected: list[str]
) -> None:
    selection = ExpirySelection(("free",), CUTOFF, keeps)
    with world.uow_factory() as uow:
        assert ids(uow.jobs.expiring(selection, 50)) == expected


def test_the_tiers_in_use_and_several_tiers_at_once(world: Backend) -> None:
    with world.uow_factory() as uow:
        assert uow.jobs.kept_tiers() == {"free", "pro", "basic"}
        renamed = ExpirySelection(("basic", "old"), CUTOFF, EVERY_PROTECTION)
        assert ids(uow.jobs.expiring(renamed, 50)) == ["renamed"]
        both = ExpirySelection(("free", "pro"), T0 + timedelta(days=1, hours=1), EVERY_PROTECTION)
        assert ids(uow.jobs.expiring(both, 50)) == ["a-old", "b-old", "pro"]
        assert uow.jobs.expiring(ExpirySelection(("nobody",), CUTOFF, EVERY_PROTECTION), 50) == []
        pro = uow.jobs.get("pro")
        assert pro is not None
        pro.remove_data(CUTOFF)
        uow.jobs.save(pro)
        assert uow.jobs.kept_tiers() == {"free", "basic"}  # only removed images are left of pro


def test_expiring_pages_by_creation_then_id_and_narrows_to_given_ids(world: Backend) -> None:
    selection = ExpirySelection(("free",), CUTOFF, EVERY_PROTECTION)
    with world.uow_factory() as uow:
        first = uow.jobs.expiring(selection, 1)
        assert ids(first) == ["a-old"]
        after = (first[0].created_at, first[0].id)
        assert ids(uow.jobs.expiring(selection, 2, after)) == ["b-old", "failed"]
        assert ids(uow.jobs.expiring(selection, 5, (T0 + timedelta(days=2), "failed"))) == ["fav-other"]
        among = ["fav", "b-old", "young", "fav-other", "nope"]
        assert ids(uow.jobs.expiring(selection, 10, among=among)) == ["b-old", "fav-other"]
        assert uow.jobs.expiring(selection, 10, among=[]) == []


def test_marked_rows_leave_expiring_and_wait_in_removal_pending_until_forgotten(world: Backend) -> None:
    selection = ExpirySelection(("free",), CUTOFF, EVERY_PROTECTION)
    at = T0 + timedelta(days=30)
    with world.uow_factory() as uow:
        assert ids(uow.jobs.removal_pending(10)) == ["removed"]  # marked, its keys still set
    with world.uow_factory() as uow:
        for job_id, delay in (("b-old", 1), ("a-old", 1), ("failed", 0)):
            job = uow.jobs.get(job_id)
            assert job is not None
            job.remove_data(at + timedelta(seconds=delay))
            uow.jobs.save(job)
        uow.commit()
    with world.uow_factory() as uow:
        assert ids(uow.jobs.expiring(selection, 10)) == ["fav-other"]
        # `failed` has no keys: nothing of it is left to delete
        pending = uow.jobs.removal_pending(10)
        assert ids(pending) == ["removed", "a-old", "b-old"]
        assert ids(uow.jobs.removal_pending(1, (pending[1].data_removed_at, "a-old"))) == ["b-old"]  # type: ignore[arg-type]
        loaded = uow.jobs.get("a-old")
        assert loaded is not None and loaded.data_removed_at == at + timedelta(seconds=1)
        for job in pending:
            job.forget_files()
            uow.jobs.save(job)
        uow.commit()
    with world.uow_factory() as uow:
        assert uow.jobs.removal_pending(10) == []
        gone = uow.jobs.get("a-old")
        assert gone is not None and (gone.image_key, gone.thumbnail_key) == (None, None)
        assert gone.status is JobStatus.COMPLETED


def test_tombstones_are_left_out_of_listings(backend: Backend) -> None:
    mine, public = finished("mine", 1), finished("shared", 2, is_public=True)
    with backend.uow_factory() as uow:
        uow.jobs.add(mine)
        uow.jobs.add(public)
        uow.favorites.add("alice", "mine", T0)
        uow.favorites.add("carol", "shared", T0)
        uow.commit()
    with backend.uow_factory() as uow:
        assert uow.jobs.list_by_user("alice", 0, 10).total == 2
        assert uow.jobs.list_public(0, 10).total == 1
        assert uow.favorites.list_ids("carol", 0, 10).total == 1
        for job in (mine, public):
            loaded = uow.jobs.get(job.id)
            assert loaded is not None
            loaded.remove_data(T0 + timedelta(days=9))
            uow.jobs.save(loaded)
        uow.commit()
    with backend.uow_factory() as uow:
        listed = uow.jobs.list_by_user("alice", 0, 10)
        assert (listed.items, listed.total) == ([], 0)
        assert uow.jobs.list_public(0, 10).total == 0
        assert uow.favorites.list_ids("carol", 0, 10).total == 0
        assert uow.favorites.list_ids("alice", 0, 10).total == 0
        assert uow.jobs.get("mine") is not None  # the row itself stays
