"""The job owns its lifecycle: every transition returns the events and the ledger movement it
implies, so no use case assembles them by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_image.domain import (
    EntryKind,
    GenerationCancelled,
    GenerationCompleted,
    GenerationDispatched,
    GenerationFailed,
    GenerationParameters,
    GenerationRequested,
    GenerationStarted,
    IllegalTransition,
    ImageJob,
    JobStatus,
    Resolution,
    TokenAccount,
    Transition,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def submitted(resolution: Resolution = Resolution.SQUARE_768) -> tuple[ImageJob, Transition]:
    params = GenerationParameters.create(prompt="a fox", seed=3, resolution=resolution)
    return ImageJob.submit("job-1", "alice", params, NOW, event_id="e-0")


def test_a_submitted_job_is_charged_its_price_and_queued() -> None:
    job, transition = submitted()
    assert job.status is JobStatus.QUEUED and job.tokens_cost == 10
    [event] = transition.events
    assert isinstance(event, GenerationRequested)
    assert (event.event_id, event.job_id, event.tokens_cost) == ("e-0", "job-1", 10)
    assert event.parameters == job.parameters.to_dict()
    assert transition.movement is not None
    assert (transition.movement.kind, transition.movement.amount) == (EntryKind.DEBIT, 10)


def test_each_transition_names_its_event_and_refund() -> None:
    job, _ = submitted()
    started = job.start(NOW, "w1", event_id="e-1")
    assert isinstance(started.events[0], GenerationStarted) and started.events[0].attempt == 1
    assert started.movement is None and job.is_held_by("w1") and not job.is_held_by("w2")
    failed = job.fail(NOW, "boom", event_id="e-2")
    [event] = failed.events
    assert isinstance(event, GenerationFailed) and (event.reason, event.refunded) == ("boom", 10)
    assert failed.movement is not None and failed.movement.kind is EntryKind.REFUND
    assert not job.is_held_by("w1")

    other, _ = submitted()
    cancelled = other.cancel(NOW, event_id="e-3")
    assert isinstance(cancelled.events[0], GenerationCancelled)
    assert cancelled.movement is not None and cancelled.movement.amount == 10

    done, _ = submitted()
    done.start(NOW, "w")
    completed = done.complete(NOW, "img", "thumb", duration_seconds=1.23456)
    event_c = completed.events[0]
    assert isinstance(event_c, GenerationCompleted) and event_c.duration_seconds == 1.235
    assert completed.movement is None


def test_dispatch_undispatch_and_requeue_put_the_job_back_in_its_turn() -> None:
    job, _ = submitted()
    sent = job.dispatch(NOW, "w", 3, event_id="x")
    assert isinstance(sent.events[0], GenerationDispatched) and sent.events[0].partition == 3
    assert job.dispatched and job.dispatched_to == "w" and sent.movement is None
    job.undispatch()
    assert not job.dispatched and job.status is JobStatus.QUEUED
    job.dispatch(NOW, "w")
    job.start(NOW, "w")
    assert job.dispatched_at is None and not job.dispatched  # started: no longer waiting
    with pytest.raises(IllegalTransition):
        job.dispatch(NOW)
    requeued = job.requeue(NOW, event_id="y")
    assert isinstance(requeued.events[0], GenerationRequested) and job.worker_id is None
    assert requeued.events[0].event_id == "y"


MOVES = {
    "start": lambda j: j.start(NOW, "w"),
    "complete": lambda j: j.complete(NOW, "k", "t"),
    "fail": lambda j: j.fail(NOW, "boom"),
    "cancel": lambda j: j.cancel(NOW),
    "requeue": lambda j: j.requeue(NOW),
}


@given(st.lists(st.sampled_from(sorted(MOVES)), max_size=14), st.sampled_from(list(Resolution)))
def test_whatever_happens_the_owner_pays_once_or_not_at_all(moves: list[str], resolution: Resolution) -> None:
    """Applying every movement a job's life returns: a finished COMPLETED or running job costs
    its price exactly once, a FAILED or CANCELLED one costs nothing; event ids never repeat."""
    job, first = submitted(resolution)
    account = TokenAccount.open("alice", 100, NOW)
    transitions = [first]
    for name in moves:
        try:
            transitions.append(MOVES[name](job))
        except IllegalTransition:
            continue
    for transition in transitions:
        if transition.movement is not None:
            m = transition.movement
            account.apply(m.kind, m.amount, m.reason, NOW, m.job_id)
    spent = 100 - account.balance
    assert spent == (0 if job.refund_due else job.tokens_cost)
    ids = [event.event_id for t in transitions for event in t.events]
    assert len(ids) == len(set(ids))
    assert sum(1 for t in transitions if t.movement and t.movement.kind is EntryKind.REFUND) <= 1
