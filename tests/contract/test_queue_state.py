"""The fair queue's persistence port, called directly: every adapter keeps the rotations, the
dispatches, the deadlines, the tiers' clock, the pause switch and the workers' seats alike."""

from __future__ import annotations

import random
from datetime import timedelta

from nexus_image.application.ports import WorkerSeat
from nexus_image.domain import GenerationParameters, JobStatus
from nexus_image.domain.queue import TierClock, WaitingUser
from tests.support.builders import T0, make_job

from .conftest import Backend


def add_jobs(backend: Backend, *jobs: object) -> None:
    with backend.uow_factory() as uow:
        for job in jobs:
            uow.jobs.add(job)  # type: ignore[arg-type]
            uow.queue.enqueue(job.user_id, job.tier, T0)  # type: ignore[attr-defined]
        uow.commit()


def test_rotations_order_users_by_when_they_were_last_served(backend: Backend) -> None:
    add_jobs(
        backend,
        make_job("a1", "alice"),
        make_job("a2", "alice", timedelta(seconds=1)),
        make_job("b1", "bob"),
        make_job("c1", "carol", tier="pro"),
    )
    with backend.uow_factory() as uow:
        assert [u.user_id for u in uow.queue.rotation("standard", 10)] == [
            "alice",
            "bob",
        ]  # never served: by id
        assert [u.user_id for u in uow.queue.rotation("pro", 10)] == ["carol"]
        first = uow.queue.rotation("standard", 1)[0]
        after = (first.served_at, first.user_id)
        assert [u.user_id for u in uow.queue.rotation("standard", 1, after)] == ["bob"]
        uow.queue.served("alice", T0 + timedelta(seconds=5))
        uow.commit()
    with backend.uow_factory() as uow:
        assert [u.user_id for u in uow.queue.rotation("standard", 10)] == ["bob", "alice"]
        head = uow.queue.head("alice")
        assert head is not None and head.id == "a1"  # first come, first served
        assert (
            uow.queue.queued_count("alice") == 2
            and uow.queue.shape(make_job("a2", "alice", timedelta(seconds=1))).nth == 2
        )
        assert uow.queue.waiting() == {
            "pro": [WaitingUser("carol", 1)],
            "standard": [WaitingUser("bob", 1), WaitingUser("alice", 2)],
        }
        assert [j.id for j in uow.queue.oldest_waiting(2)] == ["a1", "b1"]


def test_a_user_leaves_the_rotation_only_if_nothing_new_came_meanwhile(backend: Backend) -> None:
    add_jobs(backend, make_job("a1", "alice"))
    with backend.uow_factory() as uow:
        [seen] = uow.queue.rotation("standard", 10)
    with backend.uow_factory() as uow:  # a new request in between marks the user again
        uow.queue.enqueue("alice", "standard", T0)
        uow.commit()
    with backend.uow_factory() as uow:
        uow.queue.leave_rotation("alice", seen.mark)
        uow.commit()
    with backend.uow_factory() as uow:
        [again] = uow.queue.rotation("standard", 10)
        uow.queue.leave_rotation("alice", again.mark)
        uow.commit()
    with backend.uow_factory() as uow:
        assert uow.queue.rotation("standard", 10) == []
        uow.queue.enqueue("alice", "pro", T0)  # back, in the tier of their latest request
        uow.commit()
    with backend.uow_factory() as uow:
        assert [u.tier for u in uow.queue.rotation("pro", 10)] == ["pro"]
        assert uow.queue.retier(["standard"], "standard") == 1
        uow.commit()
    with backend.uow_factory() as uow:
        assert [u.user_id for u in uow.queue.rotation("standard", 10)] == ["alice"]


def test_dispatched_running_and_overdue_jobs_are_found_as_the_scheduler_needs(backend: Backend) -> None:
    sent = make_job("sent", "alice", dispatched_at=T0 + timedelta(seconds=10), dispatched_to="w1")
    old = make_job("old", "alice", timedelta(seconds=1), dispatched_at=T0, dispatched_to=None)
    running = make_job("run", "bob", status=JobStatus.PROCESSING, started_at=T0)
    due = make_job("due", "carol", deadline_at=T0 + timedelta(seconds=30))
    later = make_job("later", "carol", timedelta(seconds=2), deadline_at=T0 + timedelta(hours=1))
    gone = make_job("gone", "dave", status=JobStatus.EXPIRED, deadline_at=T0)
    add_jobs(backend, sent, old, running, due, later, gone)
    with backend.uow_factory() as uow:
        assert uow.queue.running_by_user() == {"alice": 2, "bob": 1}
        assert uow.queue.running_by_worker() == {}  # bob's runs under no worker id
        assert uow.queue.outstanding_by_worker(T0 + timedelta(seconds=5)) == {"w1": 1}
        assert uow.queue.outstanding_by_worker(T0) == {"w1": 1, None: 1}
        assert [j.id for j in uow.queue.stale_dispatches(T0 + timedelta(seconds=5), 10)] == ["old"]
        assert [j.id for j in uow.queue.dispatched(10)] == ["old", "sent"]
        assert [j.id for j in uow.queue.overdue(T0 + timedelta(seconds=30), 10)] == ["due"]
        assert uow.queue.overdue(T0 + timedelta(seconds=29), 10) == []
        head = uow.queue.head("alice")
        assert head is None  # both of alice's are dispatched
        loaded = uow.jobs.get("sent")
        assert loaded is not None and (loaded.dispatched_to, loaded.dispatched_at) == (
            "w1",
            sent.dispatched_at,
        )
        expired = uow.jobs.get("gone")
        assert expired is not None and expired.status is JobStatus.EXPIRED and expired.refund_due


def test_the_tiers_clock_the_pause_and_the_seats_are_kept(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        assert uow.queue.tier_clock() == TierClock() and not uow.queue.paused()
        uow.queue.save_tier_clock(TierClock({"pro": 1 / 3, "free": 2.0}, 1.0))
        uow.queue.set_paused(True, T0)
        uow.queue.seat(WorkerSeat("w1", 2, {"": (0, 3), "sd15": (1,)}, T0))
        uow.queue.seat(WorkerSeat("w2", 1, None, T0 + timedelta(seconds=20)))
        uow.commit()
    with backend.uow_factory() as uow:
        assert uow.queue.tier_clock() == TierClock({"pro": 1 / 3, "free": 2.0}, 1.0)
        assert uow.queue.paused()
        assert uow.queue.seats(T0) == [
            WorkerSeat("w1", 2, {"": (0, 3), "sd15": (1,)}, T0),
            WorkerSeat("w2", 1, None, T0 + timedelta(seconds=20)),
        ]
        assert [s.worker_id for s in uow.queue.seats(T0 + timedelta(seconds=10))] == ["w2"]
        uow.queue.set_paused(False, T0)
        uow.queue.seat(WorkerSeat("w1", 4, {"sd15": ()}, T0 + timedelta(seconds=30)))
        uow.queue.unseat("w2")
        uow.commit()
    with backend.uow_factory() as uow:
        assert not uow.queue.paused()
        assert uow.queue.seats(T0) == [WorkerSeat("w1", 4, {"sd15": ()}, T0 + timedelta(seconds=30))]


def test_users_with_waiting_jobs_but_no_rotation_rejoin_one(backend: Backend) -> None:
    with backend.uow_factory() as uow:  # as an older version wrote them: no rotation row
        uow.jobs.add(make_job("old", "zoe", tier="pro"))
        uow.jobs.add(make_job("sent", "yann", dispatched_at=T0))
        uow.commit()
    with backend.uow_factory() as uow:
        assert uow.queue.rotation("pro", 10) == []
        assert uow.queue.rejoin(T0) == 1  # yann's only job is dispatched already
        uow.commit()
    with backend.uow_factory() as uow:
        assert [u.user_id for u in uow.queue.rotation("pro", 10)] == ["zoe"]
        assert uow.queue.rejoin(T0) == 0


def test_the_shape_of_the_queue_is_read_at_one_instant(backend: Backend) -> None:
    sent = make_job("sent", "alice", dispatched_at=T0)
    first, second = (
        make_job("a1", "alice", timedelta(seconds=1)),
        make_job("a2", "alice", timedelta(seconds=2)),
    )
    add_jobs(backend, sent, first, second, make_job("b1", "bob", tier="pro"))
    with backend.uow_factory() as uow:
        uow.queue.save_tier_clock(TierClock({"pro": 0.5}, 0.25))
        uow.commit()
    with backend.uow_factory() as uow:
        shape = uow.queue.shape(second)
        assert shape.rotations == {"standard": [WaitingUser("alice", 2)], "pro": [WaitingUser("bob", 1)]}
        assert (shape.dispatched, shape.nth) == (1, 2)
        assert shape.clock == TierClock({"pro": 0.5}, 0.25)
        assert uow.queue.shape(sent).nth == 0  # dispatched: not waiting any more


def test_waiting_counts_follow_every_change_of_a_job(backend: Backend) -> None:
    """The per-user counts of waiting images (kept by triggers on `jobs` in SQL) stay equal to
    the jobs themselves through a random walk of adds, dispatches, undispatches, starts,
    requeues, cancels, expiries and deletes."""
    rng = random.Random(11)
    users = ("alice", "bob", "carol")
    made: list[str] = []
    for step in range(70):
        with backend.uow_factory() as uow:
            found = [j for j in (uow.jobs.get(i) for i in made) if j is not None]
            move = rng.choice(("add", "add", "dispatch", "undispatch", "start", "requeue", "end", "delete"))
            at = T0 + timedelta(seconds=step)
            if move == "add" or not found:
                user = rng.choice(users)
                model = rng.choice((None, "anime"))
                params = GenerationParameters.create(prompt="a fox", seed=step, model=model)
                job = make_job(f"j{step}", user, timedelta(seconds=step), tier="standard", parameters=params)
                uow.jobs.add(job)
                uow.queue.enqueue(user, "standard", at)
                made.append(job.id)
            else:
                job = rng.choice(found)
                if move == "delete":
                    uow.jobs.delete(job.id)
                else:
                    if move == "dispatch" and job.status is JobStatus.QUEUED:
                        job.dispatch(at, "w1")
                    elif move == "undispatch":
                        job.undispatch()
                    elif move == "start" and job.status is JobStatus.QUEUED:
                        job.start(at, "w1")
                    elif move == "requeue" and job.status is JobStatus.PROCESSING:
                        job.requeue(at)
                    elif move == "end" and not job.status.is_terminal:
                        job.cancel(at) if rng.random() < 0.5 else job.expire(at)
                    uow.jobs.save(job)
            uow.commit()
        with backend.uow_factory() as uow:
            jobs_now = [j for j in (uow.jobs.get(i) for i in made) if j is not None]
            expected: dict[str, int] = {}
            by_model: dict[str, int] = {}
            for job in jobs_now:
                if job.status is JobStatus.QUEUED and job.dispatched_at is None:
                    expected[job.user_id] = expected.get(job.user_id, 0) + 1
                    model = job.parameters.model or ""
                    by_model[model] = by_model.get(model, 0) + 1
            counted = {u.user_id: u.waiting for found in uow.queue.waiting().values() for u in found}
            assert counted == expected, (step, move)
            assert {m: n for m, n in uow.queue.waiting_by_model().items() if n} == by_model, (step, move)
