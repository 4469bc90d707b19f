"""The worker's one storage retry policy, and the outcomes it reports."""

from __future__ import annotations

import pytest

from nexus_image.application import dto
from nexus_image.application.errors import NotFound, StorageUnavailable
from nexus_image.application.process_job import StorageRetry
from nexus_image.application.process_outcome import Outcome, ProcessOutcome
from nexus_image.domain.job import JobStatus


class Flaky:
    """Unavailable for the first `outages` calls, then answers."""

    def __init__(self, outages: int, error: Exception | None = None) -> None:
        self.outages, self.calls = outages, 0
        self.error = error or StorageUnavailable("down")

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.outages:
            raise self.error
        return "object"


def test_an_unavailable_storage_is_tried_again_after_each_delay_until_it_answers() -> None:
    slept: list[float] = []
    retry = StorageRetry((0.2, 0.5, 1.0), slept.append)
    call = Flaky(outages=2)
    assert retry(call) == "object"
    assert (call.calls, slept) == (3, [0.2, 0.5])


def test_after_the_last_delay_the_outage_stands() -> None:
    slept: list[float] = []
    retry = StorageRetry((0.2, 0.5), slept.append)
    with pytest.raises(StorageUnavailable):
        retry(Flaky(outages=5))
    assert slept == [0.2, 0.5]


def test_other_errors_are_final_at_once() -> None:
    slept: list[float] = []
    call = Flaky(outages=1, error=NotFound("upload", "u1"))
    with pytest.raises(NotFound):
        StorageRetry((0.2,), slept.append)(call)
    assert (call.calls, slept) == (1, [])


def test_without_delays_there_is_one_attempt_and_each_call_starts_afresh() -> None:
    with pytest.raises(StorageUnavailable):
        StorageRetry(())(Flaky(outages=1))
    slept: list[float] = []
    retry = StorageRetry((0.1,), slept.append)
    assert retry(Flaky(outages=1)) == retry(Flaky(outages=1)) == "object"
    assert slept == [0.1, 0.1]  # every call gets every delay


def test_outcomes_compare_equal_to_their_names() -> None:
    assert Outcome.COMPLETED == "COMPLETED" and f"{Outcome.SKIPPED}" == "SKIPPED"
    assert sorted([Outcome.FAILED, "COMPLETED"]) == ["COMPLETED", "FAILED"]
    assert ProcessOutcome("j", Outcome.CANCELLED).status == "CANCELLED"


def test_a_job_reports_its_status_as_its_outcome_and_a_gone_one_is_skipped() -> None:
    assert Outcome.of(None) is Outcome.SKIPPED
    assert {Outcome(status.value) for status in JobStatus} <= set(Outcome)  # any status can be reported


def test_the_outcome_is_still_importable_from_the_dtos() -> None:
    assert dto.ProcessOutcome is ProcessOutcome
