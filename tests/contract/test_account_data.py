"""Export and erasure of one user's data, on each backend: the erasure leaves no row and no
object naming the user (every table and column scanned), keeps the ledger and the audit trail
under a pseudonym, and finishes when run again after being cut short anywhere."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from nexus_image.application.account_export import ExportAccountData
from nexus_image.application.erasure import EraseUser
from nexus_image.application.errors import DatabaseUnavailable, StorageUnavailable
from nexus_image.domain import Album, JobStatus
from nexus_image.domain.erasure import is_pseudonym
from nexus_image.testing import InMemoryStorage, MemoryStore
from tests.support.builders import T0, make_job
from tests.support.personal_data import (
    OTHER,
    PROMPT,
    VICTIM,
    UuidIds,
    memory_naming,
    objects_naming,
    populate,
    sql_naming,
)

from .conftest import Backend, Stack

KEY = b"a test key of the erasure pseudonyms, 32+ bytes"


def eraser(stack: Stack, storage: Any = None, uow_factory: Any = None) -> EraseUser:
    return EraseUser(
        uow_factory or stack.backend.uow_factory,
        storage or stack.storage,
        stack.clock,
        UuidIds(),
        lambda: KEY,
        batch=2,  # several batches of everything, even with a handful of rows
    )


def naming(backend: Backend, user: str) -> list[str]:
    if backend.name == "memory":
        store: MemoryStore = backend.uow_factory.__self__  # type: ignore[attr-defined]
        return memory_naming(store, user)
    with backend.uow_factory() as uow:
        return sql_naming(uow.connection(), user)  # type: ignore[attr-defined]


def audit_rows(backend: Backend) -> list[tuple[str, str, str, str, str]]:
    if backend.name == "memory":
        store: MemoryStore = backend.uow_factory.__self__  # type: ignore[attr-defined]
        return [(a.actor, a.action, a.target, a.detail, a.via) for a in store.audit]
    with backend.uow_factory() as uow:
        rows = uow.connection().exec_driver_sql(  # type: ignore[attr-defined]
            "SELECT actor, action, target, detail, via FROM audit_log ORDER BY id"
        )
        return [tuple(row) for row in rows]


def left_behind(stack: Stack, user: str) -> list[str]:
    return naming(stack.backend, user) + objects_naming(stack.storage, user, list(stack.storage.objects))


def test_erasure_leaves_nothing_naming_the_user_and_keeps_the_ledger_under_a_pseudonym(stack: Stack) -> None:
    world = populate(stack.service, stack.backend.uow_factory, stack.clock, stack.run_queue)
    balance = stack.balance(VICTIM)
    assert len(left_behind(stack, VICTIM)) > 20  # the scans do find them where they are

    erase = eraser(stack)
    done = erase.execute(VICTIM)

    assert (done.cancelled, done.images, done.uploads) == (1, 3, 1)
    assert done.rows >= 12 and done.renamed >= 5
    assert left_behind(stack, VICTIM) == []
    token = erase.pseudonym(VICTIM)
    assert done.pseudonym == token and is_pseudonym(token)
    # The ledger and the balance are kept, under the pseudonym: the queued job was refunded once.
    assert stack.balance(token) == balance + 5 == stack.ledger_sum(token)
    # The other user keeps everything of theirs, less what pointed at the erased user's images.
    assert stack.service.get_image(OTHER, world.other_images[0]).status is JobStatus.COMPLETED
    in_album = stack.service.albums.contents(OTHER, world.other_album).items
    assert [view.id for view in in_album] == world.other_images
    assert stack.service.images.favorites(OTHER).total == 0
    assert sorted(stack.storage.objects) == sorted(
        f"{kind}/{OTHER}/{world.other_images[0]}.{ext}"
        for kind, ext in (("images", "png"), ("thumbnails", "webp"))
    )
    # The audit trail is kept, naming the pseudonym where it named the user.
    rows = audit_rows(stack.backend)
    assert ("operator-1", "operator.job.cancel") in {(r[0], r[1]) for r in rows}
    assert any(r[3] == f"of {token}, refunded 5" for r in rows)
    assert any(r[2] == f"account:{token}" and r[1] == "tokens.grant" for r in rows)
    assert any(r[4] == f"key:{r[4][4:20]} (bot of {token})" for r in rows if r[4])
    assert rows[-1][:3] == (token, "account.erase", f"account:{token}") and "3 images" in rows[-1][3]

    again = eraser(stack).execute(VICTIM)  # idempotent: nothing left, the same answer
    assert (again.pseudonym, again.cancelled, again.images, again.rows, again.renamed) == (token, 0, 0, 0, 0)
    assert left_behind(stack, VICTIM) == []
    assert audit_rows(stack.backend)[-1][:2] == (token, "account.erase")


def test_a_user_erased_twice_has_one_pseudonym_whose_balance_is_their_ledger(stack: Stack) -> None:
    stack.request(VICTIM)
    stack.run_queue()
    eraser(stack).execute(VICTIM)
    stack.request(VICTIM)  # a new request opens a fresh account (welcome grant), queued
    assert stack.balance(VICTIM) == 95
    erase = eraser(stack)
    erase.execute(VICTIM, actor="operator-7")
    token = erase.pseudonym(VICTIM)
    assert stack.balance(token) == 95 + 100 == stack.ledger_sum(token)
    assert naming(stack.backend, VICTIM) == []
    assert audit_rows(stack.backend)[-1][:3] == ("operator-7", "account.erase", f"account:{token}")


class FlakyStorage:
    """Deletes `deletes` objects, then fails like an outage."""

    def __init__(self, inner: InMemoryStorage, deletes: int) -> None:
        self.inner = inner
        self.deletes = deletes

    def delete(self, key: str) -> None:
        if self.deletes <= 0:
            raise StorageUnavailable(f"cannot delete {key}: connection refused")
        self.deletes -= 1
        self.inner.delete(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_an_erasure_cut_short_by_object_storage_finishes_when_run_again(stack: Stack) -> None:
    # Cut in the images (before any, in the middle), and at the upload; the SQL engines take one.
    for deletes in [0, 3, 4] if stack.backend.name == "memory" else [3]:
        user, other = f"flaky-{deletes}-q2x", f"other-{deletes}"
        populate(stack.service, stack.backend.uow_factory, stack.clock, stack.run_queue, user, other)
        balance = stack.balance(user)
        with pytest.raises(StorageUnavailable):
            eraser(stack, storage=FlakyStorage(stack.storage, deletes)).execute(user)
        assert left_behind(stack, user) != []
        erase = eraser(stack)
        token = erase.pseudonym(user)
        failed = audit_rows(stack.backend)[-1]
        assert failed[:3] == (token, "account.erase", f"account:{token}") and user not in "".join(failed)
        assert "cannot delete " in failed[3]

        erase.execute(user)
        assert left_behind(stack, user) == []
        assert stack.balance(token) == balance + 5 == stack.ledger_sum(token)


class FailingCommits:
    """A unit-of-work factory whose `fail_at`-th commit fails (nothing of it kept), like a
    database lost, or a process killed, in the middle of the run."""

    def __init__(self, factory: Callable[[], Any], fail_at: int | None) -> None:
        self.factory = factory
        self.fail_at = fail_at
        self.commits = 0

    def __call__(self) -> Any:
        return _Unit(self.factory(), self)


class _Unit:
    def __init__(self, inner: Any, owner: FailingCommits) -> None:
        self.inner = inner
        self.owner = owner

    def __enter__(self) -> _Unit:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.inner.__exit__(*exc)

    def commit(self) -> None:
        self.owner.commits += 1
        if self.owner.commits == self.owner.fail_at:
            raise DatabaseUnavailable("the database went away")
        self.inner.commit()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_an_erasure_cut_short_by_the_database_at_any_commit_finishes_when_run_again(stack: Stack) -> None:
    counting = FailingCommits(stack.backend.uow_factory, None)
    populate(stack.service, stack.backend.uow_factory, stack.clock, stack.run_queue, "first-9zq", "other-0")
    eraser(stack, uow_factory=counting).execute("first-9zq")
    # Every commit of a run on the memory store; two on the SQL engines (slower): in the
    # images, and in the renaming of the ledger.
    assert counting.commits > 20
    points = range(1, counting.commits + 1)
    if stack.backend.name != "memory":
        points = range(4, counting.commits, counting.commits // 2 + 1)
    for n in points:
        user = f"cut-{n}-w7k"
        populate(stack.service, stack.backend.uow_factory, stack.clock, stack.run_queue, user, f"other-{n}")
        balance = stack.balance(user)
        with pytest.raises(DatabaseUnavailable):
            eraser(stack, uow_factory=FailingCommits(stack.backend.uow_factory, n)).execute(user)
        erase = eraser(stack)
        erase.execute(user)
        assert left_behind(stack, user) == [], f"cut at commit {n}"
        token = erase.pseudonym(user)
        assert stack.balance(token) == balance + 5 == stack.ledger_sum(token), f"cut at commit {n}"


def test_a_users_images_are_read_oldest_first_after_a_cursor_with_their_album_names(backend: Backend) -> None:
    jobs = [make_job(f"j{i}", created=timedelta(seconds=i // 2)) for i in range(5)]
    jobs.append(make_job("theirs", user="bob"))
    with backend.uow_factory() as uow:
        for job in jobs:
            uow.jobs.add(job)
        for name, ids, age in (("b-second", ["j3", "j1"], 2), ("a-first", ["j1"], 1)):
            uow.albums.add(Album(f"al-{name}", "alice", name, T0 + timedelta(seconds=age), image_ids=ids))
        uow.albums.add(Album("al-bob", "bob", "bob's", T0, image_ids=["j1", "theirs"]))
        uow.commit()
    with backend.uow_factory() as uow:
        first = uow.account_data.images_after("alice", None, 3)
        rest = uow.account_data.images_after("alice", (first[-1].created_at, first[-1].id), 3)
        names = uow.account_data.album_names("alice", ["j1", "j3", "j4", "theirs"])
    assert [j.id for j in first] == ["j0", "j1", "j2"] and [j.id for j in rest] == ["j3", "j4"]
    assert first[1] == jobs[1]
    assert names == {"j1": ["a-first", "b-second"], "j3": ["b-second"]}


def test_an_export_holds_each_completed_png_and_every_images_record(stack: Stack) -> None:
    world = populate(stack.service, stack.backend.uow_factory, stack.clock, stack.run_queue)
    archive = ExportAccountData(stack.backend.uow_factory, stack.storage, stack.clock, page_size=2).open(
        VICTIM
    )
    data = b"".join(archive.chunks)
    with zipfile.ZipFile(io.BytesIO(data)) as unpacked:
        names = unpacked.namelist()
        records = json.loads(unpacked.read("images.json"))
        albums = json.loads(unpacked.read("albums.json"))
        png = unpacked.read(f"images/{world.victim_images[0]}.png")
    assert archive.images == 3
    assert sorted(names) == sorted(
        [*(f"images/{i}.png" for i in world.victim_images), "images.json", "albums.json"]
    )
    assert png == stack.storage.get(f"images/{VICTIM}/{world.victim_images[0]}.png")
    by_id = {r["id"]: r for r in records}
    assert list(by_id) == [*world.victim_images, world.queued]  # oldest first
    first, second, queued = (by_id[i] for i in (*world.victim_images, world.queued))
    assert first["albums"] == [f"holiday of {VICTIM}"] and first["is_public"] and not first["is_favorite"]
    assert second["is_favorite"] and second["albums"] == [] and second["file"] == f"images/{second['id']}.png"
    assert queued["status"] == "QUEUED" and queued["file"] is None and queued["completed_at"] is None
    assert first["parameters"]["prompt"] == PROMPT and first["parameters"]["steps"] == 2
    assert [a["name"] for a in albums] == [f"holiday of {VICTIM}"]
    assert albums[0]["images"] == [world.victim_images[0]]
