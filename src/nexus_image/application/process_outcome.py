"""What the worker reports for each job it was handed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from nexus_image.domain.job import ImageJob


class Outcome(StrEnum):
    """How a job's processing ended, as this worker saw it. A StrEnum, so an outcome still
    compares equal to its name ("COMPLETED" == Outcome.COMPLETED)."""

    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"  # its deadline had passed when the worker got it: never started
    SKIPPED = "SKIPPED"  # nothing to do: the job is unknown, or was already past QUEUED
    # A job that stopped being ours reports the status it has now: held by another worker after
    # our lease ran out, or put back in the queue by the recovery of stalled jobs.
    PROCESSING = "PROCESSING"
    QUEUED = "QUEUED"

    @classmethod
    def of(cls, job: ImageJob | None) -> Outcome:
        """A job's current status as an outcome; SKIPPED for a job that is gone."""
        return cls.SKIPPED if job is None else cls(job.status.value)


@dataclass(frozen=True, slots=True)
class ProcessOutcome:
    job_id: str
    status: Outcome
    detail: str = ""
