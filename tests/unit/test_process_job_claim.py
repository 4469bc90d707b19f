"""Stage 1 of the worker: a queued job is claimed under a lease, the lease is kept while the
job runs, and a job is ours only while it is PROCESSING under our worker id."""

from __future__ import annotations

from typing import Any

from nexus_image.application.errors import DatabaseUnavailable
from nexus_image.application.process_job import ClaimJobs
from nexus_image.application.process_outcome import Outcome, ProcessOutcome
from nexus_image.domain.job import ImageJob, JobStatus
from tests.unit.conftest import World


def claim_of(world: World) -> ClaimJobs:
    return world.service.worker.claim


def stored(world: World, job_id: str) -> ImageJob:
    with world.store.unit_of_work() as uow:
        job = uow.jobs.get(job_id)
    assert job is not None
    return job


def started(world: World, **request: Any) -> ImageJob:
    job = claim_of(world).start(world.request(**request).id)
    assert isinstance(job, ImageJob)
    return job


def test_a_queued_job_is_started_under_this_worker_and_a_lease(world: World) -> None:
    claim = claim_of(world)
    job = started(world)
    now = stored(world, job.id)
    assert (now.status, now.worker_id) == (JobStatus.PROCESSING, claim.worker_id)
    assert now.lease_expires_at == world.clock.now() + claim.lease
    assert Outcome.of(now) is Outcome.PROCESSING


def test_unknown_and_already_started_jobs_are_skipped(world: World) -> None:
    claim = claim_of(world)
    job = started(world)
    assert claim.start("nope") == ProcessOutcome("nope", Outcome.SKIPPED, "unknown job")
    assert claim.start(job.id) == ProcessOutcome(job.id, Outcome.SKIPPED, "already PROCESSING")


def test_start_all_reports_each_job_in_order(world: World) -> None:
    a, b = world.request(seed=1).id, world.request(seed=2).id
    claimed = claim_of(world).start_all([a, "nope", b])
    assert [x.id if isinstance(x, ImageJob) else x.status for x in claimed] == [a, "SKIPPED", b]


def test_a_job_is_ours_only_while_it_runs_under_our_worker_id(world: World) -> None:
    claim = claim_of(world)
    job = started(world)
    assert claim.ours(stored(world, job.id))
    assert not claim.ours(None)
    claim.worker_id = "another-worker"
    assert not claim.ours(stored(world, job.id))
    claim.worker_id = "worker"
    world.service.cancel("alice", job.id)
    assert not claim.ours(stored(world, job.id))


def test_still_held_keeps_the_jobs_still_ours_in_one_query(world: World) -> None:
    claim = claim_of(world)
    kept, cancelled = started(world, seed=1), started(world, seed=2)
    world.service.cancel("alice", cancelled.id)
    queries: list[object] = []
    real = claim.uow_factory

    def counted() -> Any:
        queries.append(None)
        return real()

    claim.uow_factory = counted
    assert [job.id for job in claim.still_held([kept, cancelled])] == [kept.id]
    assert len(queries) == 1


def test_leases_are_renewed_a_third_of_a_lease_after_the_last_renewal(world: World) -> None:
    claim = claim_of(world)
    job = started(world)
    claim.start_all([])  # the batch's leases count as renewed now
    taken = stored(world, job.id).lease_expires_at
    world.clock.advance(seconds=claim.lease.total_seconds() / 4)
    claim.keep([job])
    assert stored(world, job.id).lease_expires_at == taken  # too soon: no write
    world.clock.advance(seconds=claim.lease.total_seconds() / 4)
    claim.keep([job])
    assert stored(world, job.id).lease_expires_at == world.clock.now() + claim.lease


def test_a_job_no_longer_ours_keeps_the_lease_it_has(world: World) -> None:
    claim = claim_of(world)
    job = started(world)
    world.service.cancel("alice", job.id)
    before = stored(world, job.id)
    world.clock.advance(seconds=claim.lease.total_seconds())
    claim.keep([job])
    after = stored(world, job.id)
    assert (after.status, after.lease_expires_at) == (JobStatus.CANCELLED, before.lease_expires_at)


def test_a_renewal_that_finds_the_database_down_is_tried_at_the_next_step(world: World) -> None:
    claim = claim_of(world)
    job = started(world)
    real, down = claim.uow_factory, {"left": 1}

    def flaky() -> Any:
        if down["left"]:
            down["left"] -= 1
            raise DatabaseUnavailable("connection refused")
        return real()

    claim.uow_factory = flaky
    world.clock.advance(seconds=claim.lease.total_seconds())
    claim.keep([job])  # the database is down: nothing raised, the lease has time left
    claim.keep([job])  # at once, not a third of a lease later
    assert stored(world, job.id).lease_expires_at == world.clock.now() + claim.lease
