"""What quotas, the account view and operators read, alike on every adapter: images charged and
not refunded since a moment, bytes kept, active and flagged jobs, suspended users."""

from __future__ import annotations

from datetime import timedelta

from nexus_image.domain import JobStatus, TokenAccount
from nexus_image.domain.job import SafetyReview
from nexus_image.domain.safety import OutputSafety
from tests.support.builders import T0, make_job

from .conftest import Backend


def test_images_charged_count_debits_of_jobs_not_refunded_since_a_moment(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        account = TokenAccount.open("alice", 100, T0)
        for n, job_id in enumerate(("a", "b", "c", "d")):
            account.debit(5, "image generation", T0 + timedelta(hours=n), job_id)
        account.refund(5, "refund: generation failed", T0 + timedelta(hours=5), "c")
        account.take(3, "operator take", T0 + timedelta(hours=6))  # no job: not an image
        uow.accounts.add(account)
        bob = TokenAccount.open("bob", 10, T0)
        bob.debit(5, "image generation", T0, "e")
        uow.accounts.add(bob)
        uow.commit()
    with backend.uow_factory() as uow:
        assert uow.accounts.images_charged("alice", T0) == 3  # a, b, d (c was refunded)
        assert uow.accounts.images_charged("alice", T0 + timedelta(hours=1)) == 2
        assert uow.accounts.images_charged("alice", T0 + timedelta(hours=4)) == 0
        assert uow.accounts.images_charged("bob", T0) == 1
        assert uow.accounts.images_charged("nobody", T0) == 0


def test_suspended_users_round_trip(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        for user in ("alice", "bob"):
            account = TokenAccount.open(user, 0, T0)
            if user == "bob":
                account.suspend("spam", T0)
            uow.accounts.add(account)
        uow.commit()
    with backend.uow_factory() as uow:
        assert uow.accounts.suspended_users() == {"bob"}
        bob = uow.accounts.get("bob")
        assert bob is not None and bob.suspended_reason == "spam" and bob.suspended_at == T0
        bob.reinstate()
        uow.accounts.save(bob)
        uow.commit()
    with backend.uow_factory() as uow:
        assert uow.accounts.suspended_users() == set()


def test_bytes_active_and_flagged_jobs(backend: Backend) -> None:
    flagged = OutputSafety(True, 0.9, ("X",), "scripted")
    jobs = [
        make_job("q1", created=timedelta(seconds=1)),
        make_job(
            "p1", created=timedelta(seconds=2), status=JobStatus.PROCESSING, steps_done=3, steps_total=8
        ),
        make_job("c1", created=timedelta(seconds=3), status=JobStatus.COMPLETED, stored_bytes=1500),
        make_job(
            "f1",
            created=timedelta(seconds=4),
            status=JobStatus.COMPLETED,
            stored_bytes=700,
            safety=flagged,
            completed_at=T0 + timedelta(seconds=9),
        ),
        make_job(
            "f2",
            created=timedelta(seconds=5),
            status=JobStatus.COMPLETED,
            safety=flagged,
            completed_at=T0 + timedelta(seconds=8),
            safety_review=SafetyReview.HIDDEN.value,
        ),
        make_job("o1", user="bob", stored_bytes=99, status=JobStatus.COMPLETED),
    ]
    with backend.uow_factory() as uow:
        for job in jobs:
            uow.jobs.add(job)
        uow.commit()
    with backend.uow_factory() as uow:
        assert uow.jobs.stored_bytes("alice") == 2200 and uow.jobs.stored_bytes("nobody") == 0
        assert [j.id for j in uow.jobs.active_of("alice", 10)] == ["q1", "p1"]
        assert [j.id for j in uow.jobs.active_of("alice", 1)] == ["q1"]
        assert [j.id for j in uow.jobs.flagged(10)] == ["f1"]
        assert [j.id for j in uow.jobs.flagged(10, reviewed=True)] == ["f2"]
        loaded = uow.jobs.get("p1")
        assert loaded is not None and (loaded.steps_done, loaded.steps_total) == (3, 8)


def test_a_job_and_the_callers_favorite_flag_are_read_together(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        uow.jobs.add(make_job("j1", status=JobStatus.COMPLETED, is_public=True))
        uow.favorites.add("bob", "j1", T0)
        uow.commit()
    with backend.uow_factory() as uow:
        job, liked = uow.jobs.get_with_favorite("j1", "bob")
        assert job is not None and job.id == "j1" and liked
        assert uow.jobs.get_with_favorite("j1", "alice")[1] is False
        assert uow.jobs.get_with_favorite("missing", "bob") == (None, False)
