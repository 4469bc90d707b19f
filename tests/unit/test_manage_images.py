"""Cancel, read, list, publish, favorite, organise in albums, delete: ownership everywhere."""

from __future__ import annotations

import pytest

from nexus_image.application import Conflict, NotFound
from nexus_image.domain import AccessDenied, ImageNotInAlbum, InvalidValue
from tests.support.driver import hand_out

from .conftest import World


def test_cancel_queued_job_refunds_exactly_and_worker_skips_it(world: World) -> None:
    job = world.request(resolution="768x768")
    assert world.balance() == 90
    hand_out(world.service)  # dispatched: its message reaches the queue
    cancelled = world.service.cancel("alice", job.id)
    assert cancelled.status == "CANCELLED"
    assert world.balance() == 100 and world.ledger_sum() == 100
    assert world.run_queue() == ["SKIPPED"]
    with pytest.raises(Conflict):
        world.service.cancel("alice", job.id)
    assert world.balance() == 100


def test_only_the_owner_cancels(world: World) -> None:
    job = world.request()
    with pytest.raises(AccessDenied):
        world.service.cancel("mallory", job.id)
    with pytest.raises(NotFound):
        world.service.cancel("alice", "missing")


def test_private_images_are_hidden_from_others_public_ones_shown(world: World) -> None:
    private = world.request(prompt="private")
    public = world.request(prompt="public", is_public=True)
    world.run_queue()
    with pytest.raises(AccessDenied):
        world.service.get_image("bob", private.id)
    assert world.service.get_image("bob", public.id).parameters.prompt == "public"
    assert world.service.get_image(None, public.id).storage_url.endswith("/" + f"{public.id}.png")  # type: ignore[union-attr]
    assert "signed" in (world.service.get_image("alice", private.id).storage_url or "")
    with pytest.raises(AccessDenied):
        world.service.images.content("bob", private.id)


def test_my_images_are_newest_first_and_paginated(world: World) -> None:
    ids = []
    for i in range(5):
        ids.append(world.request(seed=i).id)
        world.clock.advance(seconds=1)
    world.request(user="bob")
    page0 = world.service.images.list_mine("alice", page=0, size=2)
    page2 = world.service.images.list_mine("alice", page=2, size=2)
    assert page0.total == 5 and [v.id for v in page0.items] == ids[::-1][:2]
    assert [v.id for v in page2.items] == [ids[0]]
    with pytest.raises(InvalidValue):
        world.service.images.list_mine("alice", size=101)
    with pytest.raises(InvalidValue):
        world.service.images.list_mine("alice", page=-1)


def test_gallery_lists_public_completed_images_only(world: World) -> None:
    shown = world.request(is_public=True)
    world.run_queue()
    world.request(is_public=True)  # still queued
    hidden = world.request()
    world.run_queue()
    world.service.manage.set_visibility("alice", hidden.id, True)
    world.service.manage.set_visibility("alice", hidden.id, False)
    gallery = world.service.images.gallery()
    assert [v.id for v in gallery.items][-1] == shown.id
    assert hidden.id not in {v.id for v in gallery.items}
    with pytest.raises(AccessDenied):
        world.service.manage.set_visibility("bob", shown.id, False)


def test_favorites_need_visibility_and_are_idempotent(world: World) -> None:
    mine = world.request()
    theirs = world.request(user="bob")
    public = world.request(user="bob", is_public=True)
    world.run_queue()
    world.service.manage.favorite("alice", mine.id)
    world.service.manage.favorite("alice", mine.id)
    world.clock.advance(seconds=1)
    world.service.manage.favorite("alice", public.id)
    with pytest.raises(AccessDenied):
        world.service.manage.favorite("alice", theirs.id)
    favorites = world.service.images.favorites("alice")
    assert [v.id for v in favorites.items] == [public.id, mine.id]
    assert world.service.get_image("alice", mine.id).is_favorite
    world.service.manage.favorite("alice", mine.id, on=False)
    world.service.manage.favorite("alice", mine.id, on=False)
    assert [v.id for v in world.service.images.favorites("alice").items] == [public.id]


def test_albums_hold_only_the_owners_images(world: World) -> None:
    a = world.request()
    b = world.request()
    bobs = world.request(user="bob")
    albums = world.service.albums
    trip = albums.create("alice", "Trip")
    with pytest.raises(Conflict):
        albums.create("alice", "Trip")
    albums.create("bob", "Trip")  # names are unique per owner only
    albums.add_image("alice", trip.id, a.id)
    albums.add_image("alice", trip.id, b.id)
    with pytest.raises(AccessDenied):
        albums.add_image("alice", trip.id, bobs.id)
    with pytest.raises(AccessDenied):
        albums.add_image("bob", trip.id, bobs.id)
    with pytest.raises(AccessDenied):
        albums.contents("bob", trip.id)
    assert [v.id for v in albums.contents("alice", trip.id).items] == [a.id, b.id]
    assert albums.rename("alice", trip.id, "Summer").name == "Summer"
    albums.remove_image("alice", trip.id, a.id)
    with pytest.raises(ImageNotInAlbum):
        albums.remove_image("alice", trip.id, a.id)
    assert [v.name for v in albums.list("alice")] == ["Summer"]
    assert albums.get("alice", trip.id).image_count == 1
    albums.delete("alice", trip.id)
    with pytest.raises(NotFound):
        albums.get("alice", trip.id)
    assert world.service.get_image("alice", b.id).id == b.id  # images outlive albums


def test_delete_removes_row_files_and_memberships_and_refunds_running(world: World) -> None:
    done = world.request()
    world.run_queue()
    album = world.service.albums.create("alice", "A")
    world.service.albums.add_image("alice", album.id, done.id)
    world.service.manage.favorite("alice", done.id)
    assert len(world.storage.objects) == 2
    with pytest.raises(AccessDenied):
        world.service.manage.delete("bob", done.id)
    world.service.manage.delete("alice", done.id)
    assert world.storage.objects == {}
    assert world.service.albums.get("alice", album.id).image_count == 0
    assert world.service.images.favorites("alice").total == 0
    with pytest.raises(NotFound):
        world.service.get_image("alice", done.id)
    queued = world.request()
    world.service.manage.delete("alice", queued.id)
    assert world.balance() == 95  # the first image was paid for; the queued one refunded
