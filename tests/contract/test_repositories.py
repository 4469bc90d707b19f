"""The persistence ports, called directly: what every adapter must do the same way."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from nexus_image.application import ConcurrentUpdate, Conflict
from nexus_image.domain import Album, JobStatus, TokenAccount
from nexus_image.domain.safety import OutputSafety
from tests.support.builders import T0, make_job

from .conftest import Backend


def save_and_commit(backend: Backend, repository: str, entity: object) -> None:
    with backend.uow_factory() as uow:
        getattr(uow, repository).save(entity)
        uow.commit()


def add_and_commit(backend: Backend, repository: str, entity: object) -> None:
    with backend.uow_factory() as uow:
        getattr(uow, repository).add(entity)
        uow.commit()


def test_job_round_trip_keeps_every_field(backend: Backend) -> None:
    job = make_job("j1", is_public=True, companion_id="c-9")
    with backend.uow_factory() as uow:
        uow.jobs.add(job)
        uow.commit()
    with backend.uow_factory() as uow:
        loaded = uow.jobs.get("j1")
        assert loaded == job
        assert loaded is not None
        loaded.start(T0 + timedelta(seconds=3), "worker-7")
        loaded.complete(T0 + timedelta(seconds=9), "images/a.png", "thumbnails/a.webp")
        uow.jobs.save(loaded)
        uow.commit()
    with backend.uow_factory() as uow:
        final = uow.jobs.get("j1")
    assert final == replace(loaded, version=1)
    assert final.created_at.utcoffset() == timedelta(0) and final.attempts == 1
    assert final.worker_id == "worker-7" and final.completed_at == T0 + timedelta(seconds=9)


def test_the_output_check_findings_round_trip_and_a_flagged_image_stays_private(backend: Backend) -> None:
    flagged = make_job("flagged", is_public=True)
    clean = make_job("clean", is_public=True)
    unchecked = make_job("unchecked", is_public=True)
    findings = {
        "flagged": OutputSafety(True, 0.87, ("ANUS_EXPOSED", "FEMALE_BREAST_EXPOSED"), "nudenet"),
        "clean": OutputSafety(False, 0.12, (), "nudenet"),
        "unchecked": None,
    }
    for job in (flagged, clean, unchecked):
        job.start(T0, "w")
        job.complete(
            T0 + timedelta(seconds=2), f"images/{job.id}.png", f"t/{job.id}.webp", safety=findings[job.id]
        )
        add_and_commit(backend, "jobs", job)
    with backend.uow_factory() as uow:
        loaded = {job_id: uow.jobs.get(job_id) for job_id in findings}
        gallery = uow.jobs.list_public(0, 10)
    for job_id, safety in findings.items():
        assert loaded[job_id] is not None
        assert loaded[job_id].safety == safety  # type: ignore[union-attr]
    assert loaded["flagged"].is_public is False  # type: ignore[union-attr]
    assert {job.id for job in gallery.items} == {"clean", "unchecked"}


def test_missing_rows_are_none(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        assert uow.jobs.get("nope") is None
        assert uow.albums.get("nope") is None
        assert uow.accounts.get("nobody") is None
        assert uow.idempotency.get("nobody", "key") is None
        assert uow.jobs.list_by_ids(["nope"]) == []
        assert uow.accounts.entries("nobody") == []
        assert uow.favorites.list_ids("nobody", 0, 10).total == 0


def test_stale_saves_are_concurrent_updates(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        uow.jobs.add(make_job("j1"))
        uow.albums.add(Album("a1", "alice", "trips", T0))
        uow.accounts.add(TokenAccount("alice", 50))
        uow.commit()
    copies = []
    for _ in range(2):  # two readers, one after the other (an account read holds a lock)
        with backend.uow_factory() as uow:
            copies.append((uow.jobs.get("j1"), uow.albums.get("a1"), uow.accounts.get("alice")))
    mine, theirs = copies
    assert None not in mine and None not in theirs
    for index, name in enumerate(("jobs", "albums", "accounts")):
        save_and_commit(backend, name, mine[index])
        with pytest.raises(ConcurrentUpdate):
            save_and_commit(backend, name, theirs[index])


def test_saving_one_object_twice_in_a_transaction_is_fine(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        uow.jobs.add(make_job("j1"))
        uow.commit()
    with backend.uow_factory() as uow:
        job = uow.jobs.get("j1")
        assert job is not None
        job.start(T0, "w")
        uow.jobs.save(job)
        job.fail(T0, "boom")
        uow.jobs.save(job)
        uow.commit()
    with backend.uow_factory() as uow:
        assert uow.jobs.get("j1").status is JobStatus.FAILED  # type: ignore[union-attr]


def test_opening_an_existing_account_is_a_concurrent_update(backend: Backend) -> None:
    add_and_commit(backend, "accounts", TokenAccount("alice", 10))
    with pytest.raises(ConcurrentUpdate):
        add_and_commit(backend, "accounts", TokenAccount("alice", 10))


def test_pages_are_newest_first_and_ties_go_by_id(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        for n in range(7):
            uow.jobs.add(make_job(f"j{n}", created=timedelta(minutes=n // 2)))
        uow.jobs.add(make_job("other", user="bob", created=timedelta(hours=1)))
        uow.commit()
    with backend.uow_factory() as uow:
        pages = [uow.jobs.list_by_user("alice", page, 3) for page in range(3)]
    assert [[j.id for j in p.items] for p in pages] == [["j6", "j5", "j4"], ["j3", "j2", "j1"], ["j0"]]
    assert {p.total for p in pages} == {7}


def test_gallery_holds_public_completed_jobs_by_completion(backend: Backend) -> None:
    done = JobStatus.COMPLETED
    with backend.uow_factory() as uow:
        uow.jobs.add(make_job("old", status=done, is_public=True, completed_at=T0 + timedelta(hours=3)))
        uow.jobs.add(make_job("new", status=done, is_public=True, completed_at=T0 + timedelta(hours=5)))
        uow.jobs.add(make_job("private", status=done, completed_at=T0 + timedelta(hours=9)))
        uow.jobs.add(make_job("queued", is_public=True))
        uow.commit()
    with backend.uow_factory() as uow:
        page = uow.jobs.list_public(0, 10)
    assert [j.id for j in page.items] == ["new", "old"] and page.total == 2


def test_maintenance_queries(backend: Backend) -> None:
    failed, running = JobStatus.FAILED, JobStatus.PROCESSING
    with backend.uow_factory() as uow:
        uow.jobs.add(make_job("f-old", status=failed, completed_at=T0 + timedelta(hours=1)))
        uow.jobs.add(make_job("f-new", status=failed, completed_at=T0 + timedelta(hours=30)))
        uow.jobs.add(make_job("p-old", status=running, started_at=T0, lease_expires_at=T0))
        uow.jobs.add(
            make_job("p-new", status=running, started_at=T0, lease_expires_at=T0 + timedelta(hours=2))
        )
        uow.jobs.add(make_job("p-unleased", status=running, started_at=T0, created=timedelta(minutes=1)))
        uow.jobs.add(make_job("q", created=timedelta(minutes=5)))
        uow.commit()
    with backend.uow_factory() as uow:
        assert [j.id for j in uow.jobs.failed_before(T0 + timedelta(hours=2), 10)] == ["f-old"]
        expired = uow.jobs.lease_expired(T0 + timedelta(hours=1), 10)
        assert [j.id for j in expired] == ["p-old", "p-unleased"]  # oldest first; no lease = expired
        later = uow.jobs.lease_expired(T0 + timedelta(hours=3), 10)
        assert [j.id for j in later] == ["p-new", "p-old", "p-unleased"]  # created together: by id
        assert len(uow.jobs.lease_expired(T0 + timedelta(hours=3), 1)) == 1
        assert uow.jobs.next_lease_expiry() == T0
        assert [j.id for j in uow.jobs.queued_before(T0 + timedelta(hours=1), 10)] == ["q"]
        assert uow.jobs.list_by_ids(["q", "nope", "f-old"]) == [uow.jobs.get("q"), uow.jobs.get("f-old")]
        counts = uow.jobs.count_by_status()
    assert counts == {"QUEUED": 1, "PROCESSING": 3, "COMPLETED": 0, "FAILED": 2, "CANCELLED": 0, "EXPIRED": 0}


def test_album_names_are_unique_per_owner(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        uow.albums.add(Album("a1", "alice", "trips", T0))
        uow.albums.add(Album("a2", "alice", "cats", T0 + timedelta(seconds=1)))
        uow.albums.add(Album("b1", "bob", "trips", T0))
        uow.commit()
    with backend.uow_factory() as uow, pytest.raises(Conflict):
        uow.albums.add(Album("a3", "alice", "trips", T0))
    with backend.uow_factory() as uow:
        album = uow.albums.get("a2")
    assert album is not None
    album.rename("trips")
    with pytest.raises(Conflict):
        save_and_commit(backend, "albums", album)
    with backend.uow_factory() as uow:
        assert [a.name for a in uow.albums.list_by_owner("alice")] == ["trips", "cats"]


def test_album_membership_keeps_insertion_order(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        for n in range(4):
            uow.jobs.add(make_job(f"j{n}"))
        uow.albums.add(Album("a1", "alice", "trips", T0, ["j2", "j0"]))
        uow.commit()
    with backend.uow_factory() as uow:
        album = uow.albums.get("a1")
        assert album is not None and album.image_ids == ["j2", "j0"]
        album.add("j3")
        album.remove("j2")
        album.add("j2")
        album.add("j1")
        uow.albums.save(album)
        uow.commit()
    with backend.uow_factory() as uow:
        assert uow.albums.get("a1").image_ids == ["j0", "j3", "j2", "j1"]  # type: ignore[union-attr]
        uow.albums.remove_image_everywhere("j3")
        uow.commit()
    with backend.uow_factory() as uow:
        album = uow.albums.get("a1")
        assert album is not None and album.image_ids == ["j0", "j2", "j1"] and album.version == 2
        uow.albums.delete("a1")
        uow.commit()
    with backend.uow_factory() as uow:
        assert uow.albums.get("a1") is None and uow.jobs.get("j0") is not None
