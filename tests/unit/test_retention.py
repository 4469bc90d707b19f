"""Retention through the real use cases on the in-memory adapters: which images lose their
files, what their owners then see, dry runs, batches, and runs that stop half-way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from nexus_image.application import GenerateImage
from nexus_image.application.errors import StorageUnavailable
from nexus_image.application.retention import ApplyRetention
from nexus_image.domain import ImageDataRemoved
from nexus_image.domain.queue import TierPolicy
from nexus_image.domain.retention import EVERY_PROTECTION, Protection, RetentionPolicy
from nexus_image.testing import InMemoryStorage, MemoryStore
from tests.support.driver import Fakes

from .conftest import World

TIERS = TierPolicy.parse('{"free": {"retention_days": 7}, "forever": {}}')


@dataclass
class RetentionWorld:
    world: World
    retention: ApplyRetention

    def ask(self, user: str = "alice", tier: str = "free", **fields: object) -> str:
        command = GenerateImage(user, "a heron", steps=1, tier=tier, **fields)  # type: ignore[arg-type]
        view = self.world.service.request_generation(command)
        self.world.run_queue()
        return view.id

    def files(self, image_id: str) -> list[str]:
        return sorted(key for key in self.world.storage.objects if image_id in key)

    def run(self, **options: Any) -> Any:
        return self.retention.execute(**options)


def retention_world(keeps: frozenset[Protection] = EVERY_PROTECTION, batch_size: int = 200) -> RetentionWorld:
    store, fakes = MemoryStore(), Fakes()
    service = fakes.service(store.unit_of_work, 1000, tier_policy=TIERS)
    world = World(store, fakes.clock, fakes.storage, fakes.queue, fakes.generator, service, [])
    retention = ApplyRetention(
        store.unit_of_work, fakes.storage, fakes.clock, RetentionPolicy(TIERS, keeps), batch_size=batch_size
    )
    return RetentionWorld(world, retention)


@pytest.fixture
def rw() -> RetentionWorld:
    return retention_world()


def test_only_expired_unprotected_images_of_limited_tiers_lose_their_files(rw: RetentionWorld) -> None:
    service = rw.world.service
    plain, favorite, in_album, public = (rw.ask() for _ in range(4))
    forever = rw.ask("bob", tier="forever")
    service.manage.favorite("alice", favorite)
    album = service.albums.create("alice", "keep")
    service.albums.add_image("alice", album.id, in_album)
    service.manage.set_visibility("alice", public, True)
    others_favorite = rw.ask()
    service.manage.set_visibility("alice", others_favorite, True)
    service.manage.favorite("carol", others_favorite)  # not its owner: no protection ...
    service.manage.set_visibility("alice", others_favorite, False)  # ... once private again
    rw.world.clock.advance(days=3)
    young = rw.ask()
    rw.world.clock.advance(days=4, seconds=1)  # the first ones are 7 days and a second old

    report = rw.run()

    assert (report.images, set(report.sample), report.by_tier) == (2, {plain, others_favorite}, {"free": 2})
    assert report.bytes > 0 and not report.dry_run and report.finished == 0
    for gone in (plain, others_favorite):
        assert rw.files(gone) == []
        view = service.get_image("alice", gone)
        assert view.status == "COMPLETED" and view.data_removed_at == rw.world.clock.now()
        assert view.storage_url is None and view.thumbnail_url is None
        with pytest.raises(ImageDataRemoved):
            service.images.content("alice", gone)
    for kept in (favorite, in_album, public, forever, young):
        assert len(rw.files(kept)) == 2
        assert service.get_image(None if kept == public else ("bob" if kept == forever else "alice"), kept)
    mine = service.images.list_mine("alice", 0, 20)
    assert {v.id for v in mine.items} == {favorite, in_album, public, young} and mine.total == 4
    assert service.images.favorites("carol").total == 0
    assert rw.run().images == 0  # nothing more to do


def test_every_view_shows_when_the_image_expires(rw: RetentionWorld) -> None:
    service = rw.world.service
    first = service.request_generation(GenerateImage("alice", "a heron", steps=1, tier="free"))
    assert first.expires_at == first.created_at + timedelta(days=7)
    rw.world.run_queue()
    assert service.get_image("alice", first.id).expires_at == first.expires_at
    assert service.images.list_mine("alice").items[0].expires_at == first.expires_at
    assert service.manage.set_visibility("alice", first.id, True).expires_at == first.expires_at
    assert service.images.gallery().items[0].expires_at == first.expires_at
    album = service.albums.create("alice", "a")
    service.albums.add_image("alice", album.id, first.id)
    assert service.albums.contents("alice", album.id).items[0].expires_at == first.expires_at
    queued = service.request_generation(GenerateImage("alice", "a heron", steps=1, tier="free"))
    assert service.cancel("alice", queued.id).expires_at == queued.expires_at
    forever = service.request_generation(GenerateImage("bob", "a heron", steps=1, tier="forever"))
    assert forever.expires_at is None


def test_with_no_protection_kept_favorites_albums_and_public_images_go_too() -> None:
    rw = retention_world(keeps=frozenset())
    service = rw.world.service
    favorite, in_album, public = rw.ask(), rw.ask(), rw.ask()
    service.manage.favorite("alice", favorite)
    album = service.albums.create("alice", "mine")
    service.albums.add_image("alice", album.id, in_album)
    service.manage.set_visibility("alice", public, True)
    rw.world.clock.advance(days=8)
    assert rw.run().images == 3
    assert service.images.favorites("alice").total == 0
    assert service.albums.contents("alice", album.id).total == 0  # its place in the album went too
    assert service.images.gallery().total == 0
    assert rw.world.storage.objects == {}
    with pytest.raises(ImageDataRemoved):
        service.albums.add_image("alice", album.id, in_album)
    with pytest.raises(ImageDataRemoved):
        service.manage.favorite("alice", favorite)
    service.manage.favorite("alice", favorite, on=False)  # taking a favorite back stays possible


def test_a_dry_run_reports_and_changes_nothing(rw: RetentionWorld) -> None:
    ids = [rw.ask() for _ in range(3)]
    rw.world.clock.advance(days=8)
    before = dict(rw.world.storage.objects)
    report = rw.run(dry_run=True)
    assert report.dry_run and report.images == 3 and list(report.sample) == ids
    assert report.bytes == sum(len(data) for data, _, _ in before.values())
    assert rw.world.storage.objects == before
    assert all(rw.world.service.get_image("alice", i).data_removed_at is None for i in ids)
    assert rw.run().images == 3


def test_batches_page_past_protected_images(rw: RetentionWorld) -> None:
    rw.retention.batch_size = 2
    ids = [rw.ask() for _ in range(7)]
    for kept in ids[::3]:  # 0, 3, 6
        rw.world.service.manage.favorite("alice", kept)
    rw.world.clock.advance(days=8)
    report = rw.run()
    assert report.images == 4 and len(report.sample) == 4
    assert {i for i in ids if rw.files(i)} == set(ids[::3])


def test_an_image_favorited_after_it_was_listed_keeps_its_files() -> None:
    """The claim reads the batch again in its own transaction: no object of an image protected
    in between is deleted."""
    rw = retention_world()
    target, other = rw.ask(), rw.ask()
    rw.world.clock.advance(days=8)
    store = rw.world.store
    listed: list[bool] = []

    def factory() -> Any:
        if listed:  # the batch was listed; its owner favorites one before the claim
            rw.world.service.manage.favorite("alice", target)
            listed.clear()
        uow = store.unit_of_work()
        expiring = uow.jobs.expiring

        def spy(*args: Any, **kwargs: Any) -> Any:
            found = expiring(*args, **kwargs)
            if kwargs.get("among") is None and found:
                listed.append(True)
            return found

        uow.jobs.expiring = spy  # type: ignore[method-assign]
        return uow

    rw.retention.uow_factory = factory
    report = rw.run()
    assert list(report.sample) == [other]
    assert len(rw.files(target)) == 2 and rw.files(other) == []
    assert rw.world.service.get_image("alice", target).data_removed_at is None


class Crash(BaseException):
    """The process dies here (nothing below the use case catches it)."""


class DyingStorage:
    """Object storage that fails after `deletes` deletions: with `error`, once."""

    def __init__(self, inner: InMemoryStorage, deletes: int, error: Callable[[], BaseException]) -> None:
        self.inner, self.left, self.error = inner, deletes, error

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def delete(self, key: str) -> None:
        if self.left == 0:
            self.left = -1
            raise self.error()
        self.left -= 1
        self.inner.delete(key)


@pytest.mark.parametrize("deletes", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("error", [Crash, lambda: StorageUnavailable("down")])
def test_a_run_stopped_anywhere_is_finished_by_the_next(
    deletes: int, error: Callable[[], BaseException]
) -> None:
    rw = retention_world(batch_size=2)
    ids = [rw.ask() for _ in range(4)]
    kept = rw.ask()
    rw.world.service.manage.favorite("alice", kept)
    rw.world.clock.advance(days=8)
    storage = rw.world.storage
    rw.retention.storage = DyingStorage(storage, deletes, error)
    with pytest.raises((Crash, StorageUnavailable)):
        rw.run()
    marked = {i for i in ids if rw.world.service.get_image("alice", i).data_removed_at is not None}
    assert len(marked) == (2 if deletes < 4 else 4)  # a batch of 2, 2 objects an image
    assert all(len(rw.files(i)) == 2 for i in ids if i not in marked)  # no object deleted unmarked

    rw.retention.storage = storage
    report = rw.run()
    assert report.finished == 2 and report.images == 4 - len(marked)
    assert [i for i in ids if rw.files(i)] == [] and len(rw.files(kept)) == 2
    with rw.world.store.unit_of_work() as uow:
        assert uow.jobs.removal_pending(10) == []
        rows = uow.jobs.list_by_ids(ids)
    assert all(
        r.data_removed_at is not None and r.image_key is None and r.thumbnail_key is None for r in rows
    )
    assert all(r.stored_bytes == 0 for r in rows)
