"""The real use cases on each backend: money, ownership, ordering and transactions."""

from __future__ import annotations

import pytest

from nexus_image.application import Conflict, IdempotencyConflict, NotFound
from nexus_image.domain import AccessDenied, EntryKind, InsufficientTokens, TokenAccount
from tests.support.builders import T0, make_job
from tests.support.driver import hand_out

from .conftest import Backend, Stack


def test_a_generation_is_charged_once_and_completes(stack: Stack) -> None:
    job = stack.request(resolution="768x768")
    assert stack.balance() == 90
    assert stack.run_queue() == ["COMPLETED"]
    view = stack.service.get_image("alice", job.id)
    assert view.status == "COMPLETED" and view.storage_url is not None
    assert stack.balance() == 90 == stack.ledger_sum()
    assert stack.service.relay.drain() == 0  # the outcome was relayed too
    with stack.backend.uow_factory() as uow:
        assert uow.outbox.pending(10) == []
    kinds = [e.event_type for e in stack.queue.events]
    assert kinds == [
        "generation.requested",
        "generation.dispatched",
        "generation.started",
        "generation.completed",
    ]


def test_same_client_key_twice_gives_one_job_and_one_debit(stack: Stack) -> None:
    first = stack.request(client_key="k-1")
    again = stack.request(client_key="k-1")
    assert again.id == first.id
    assert stack.balance() == 95 == stack.ledger_sum()
    assert [e.kind for e in stack.service.tokens.ledger("alice")] == [EntryKind.GRANT, EntryKind.DEBIT]
    with pytest.raises(IdempotencyConflict):
        stack.request(client_key="k-1", prompt="something else entirely")
    assert stack.service.images.list_mine("alice").total == 1


def test_refused_request_leaves_nothing_behind(stack: Stack) -> None:
    for key in ("a", "b", "c"):
        stack.request(resolution="1024x1536", client_key=key)  # 3 x 30 of the 100 granted
    with pytest.raises(InsufficientTokens):
        stack.request(resolution="1024x1536", client_key="d")
    assert stack.balance() == 10 == stack.ledger_sum()
    assert stack.service.images.list_mine("alice").total == 3
    with stack.backend.uow_factory() as uow:
        assert len(uow.outbox.pending(10)) == 3
        assert uow.idempotency.get("alice", "d") is None


def test_failures_and_cancellations_are_refunded_exactly_once(stack: Stack) -> None:
    stack.generator.fail_with = RuntimeError("out of memory")
    failed = stack.request(seed=1)
    assert stack.run_queue() == ["FAILED"]
    stack.generator.fail_with = None
    cancelled = stack.request(seed=2)
    stack.service.dispatcher.execute(room=1)  # dispatched: a worker will read its message
    stack.service.cancel("alice", cancelled.id)
    with pytest.raises(Conflict):
        stack.service.cancel("alice", cancelled.id)
    assert stack.run_queue() == ["SKIPPED"]
    assert stack.balance() == 100 == stack.ledger_sum()
    assert stack.service.get_image("alice", failed.id).status == "FAILED"
    kinds = [e.kind.value for e in stack.service.tokens.ledger("alice")]
    assert kinds == ["GRANT", "DEBIT", "REFUND", "DEBIT", "REFUND"]


def test_my_images_are_newest_first(stack: Stack) -> None:
    ids = []
    for seed in range(5):
        ids.append(stack.request(seed=seed).id)
        stack.clock.advance(seconds=1)
    stack.request(user="bob")
    pages = [stack.service.images.list_mine("alice", page=n, size=2) for n in range(4)]
    assert [[v.id for v in p.items] for p in pages] == [ids[4:2:-1], ids[2:0:-1], ids[:1], []]
    assert {p.total for p in pages} == {5}


def test_albums_belong_to_their_owner(stack: Stack) -> None:
    mine = [stack.request(seed=n).id for n in range(3)]
    bobs = stack.request(user="bob").id
    album = stack.service.albums.create("alice", "  summer   trip ")
    assert album.name == "summer trip"
    with pytest.raises(Conflict):
        stack.service.albums.create("alice", "summer trip")
    for image in (mine[2], mine[0], mine[1], mine[0]):
        stack.service.albums.add_image("alice", album.id, image)
    contents = stack.service.albums.contents("alice", album.id, page=0, size=2)
    assert [v.id for v in contents.items] == [mine[2], mine[0]] and contents.total == 3
    with pytest.raises(AccessDenied):
        stack.service.albums.add_image("alice", album.id, bobs)
    with pytest.raises(AccessDenied):
        stack.service.albums.get("bob", album.id)
    with pytest.raises(AccessDenied):
        stack.service.albums.add_image("bob", album.id, bobs)
    with pytest.raises(NotFound):
        stack.service.albums.get("alice", "no-such-album")
    stack.service.albums.delete("alice", album.id)
    assert stack.service.albums.list("alice") == []
    assert stack.service.images.list_mine("alice").total == 3


def test_favorites_are_newest_first_and_follow_visibility(stack: Stack) -> None:
    first, second = stack.request(seed=1).id, stack.request(seed=2, is_public=True).id
    stack.run_queue()
    stack.service.manage.favorite("alice", first)
    stack.clock.advance(seconds=5)
    stack.service.manage.favorite("alice", second)
    stack.service.manage.favorite("alice", first)  # idempotent: keeps its first time
    assert [v.id for v in stack.service.images.favorites("alice").items] == [second, first]
    with pytest.raises(AccessDenied):
        stack.service.manage.favorite("bob", first)
    stack.service.manage.favorite("bob", second)  # public and completed
    assert stack.service.images.get("bob", second).is_favorite
    album = stack.service.albums.create("alice", "best")
    stack.service.albums.add_image("alice", album.id, second)
    stack.service.manage.delete("alice", second)
    assert [v.id for v in stack.service.images.favorites("alice").items] == [first]
    assert stack.service.images.favorites("bob").total == 0
    assert stack.service.albums.get("alice", album.id).image_count == 0
    stack.service.manage.favorite("alice", first, on=False)
    stack.service.manage.favorite("alice", first, on=False)
    assert stack.service.images.favorites("alice").total == 0


def test_gallery_shows_public_completed_images_only(stack: Stack) -> None:
    shown = stack.request(seed=1, is_public=True).id
    hidden = stack.request(seed=2).id
    stack.run_queue()
    pending = stack.request(seed=3, is_public=True).id
    assert [v.id for v in stack.service.images.gallery().items] == [shown]
    stack.service.manage.set_visibility("alice", hidden, True)
    assert {v.id for v in stack.service.images.gallery().items} == {shown, hidden}
    assert pending not in {v.id for v in stack.service.images.gallery().items}


def test_without_commit_nothing_is_kept(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        uow.jobs.add(make_job("j1"))
        uow.accounts.add(TokenAccount.open("alice", 50, T0))
        assert uow.jobs.get("j1") is not None  # a unit sees its own writes
    with backend.uow_factory() as uow:
        uow.jobs.add(make_job("j2"))
        uow.rollback()
        uow.jobs.add(make_job("j3"))
        uow.commit()
    with backend.uow_factory() as uow:
        assert uow.jobs.get("j1") is None and uow.jobs.get("j2") is None
        assert uow.jobs.get("j3") is not None
        assert uow.accounts.get("alice") is None and uow.accounts.entries("alice") == []


def test_cleanup_removes_old_failures_with_their_objects(stack: Stack) -> None:
    stack.generator.fail_with = RuntimeError("boom")
    old = stack.request(seed=1).id
    stack.run_queue()
    stack.storage.put(f"images/alice/{old}.png", b"partial", "image/png", {})
    stack.clock.advance(hours=23)
    young = stack.request(seed=2).id
    stack.run_queue()
    stack.service.manage.favorite("alice", old)
    stack.clock.advance(hours=2)
    assert stack.service.cleanup.execute() == 1
    with pytest.raises(NotFound):
        stack.service.get_image("alice", old)
    assert stack.service.get_image("alice", young).status == "FAILED"
    assert stack.storage.objects == {} and stack.service.images.favorites("alice").total == 0


def test_stalled_jobs_are_requeued_then_failed_once(stack: Stack) -> None:
    job = stack.request().id
    hand_out(stack.service)
    stack.queue.receive(1, 0)
    for _ in range(3):
        stack.service.worker.claim.worker_id = "dead-worker"
        stack.service.worker.claim.start(job)
        stack.clock.advance(minutes=11)
        stack.service.recover.execute()
    assert stack.service.get_image("alice", job).status == "FAILED"
    assert stack.balance() == 100 == stack.ledger_sum()
    with stack.backend.uow_factory() as uow:
        assert uow.jobs.get(job).attempts == 3  # type: ignore[union-attr]
