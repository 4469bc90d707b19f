"""Building domain objects for tests with every field settable."""

from __future__ import annotations

from datetime import timedelta

from nexus_image.domain import GenerationParameters, ImageJob, JobStatus, Resolution
from nexus_image.testing import ManualClock

T0 = ManualClock().now()  # 2026-01-01 12:00 UTC


def make_job(
    job_id: str,
    user: str = "alice",
    created: timedelta = timedelta(0),
    status: JobStatus = JobStatus.QUEUED,
    resolution: Resolution = Resolution.SQUARE_512,
    **fields: object,
) -> ImageJob:
    """A job created `created` after T0 (or at `created_at=`), any other field set by keyword."""
    params = GenerationParameters.create(
        prompt=f"prompt of {job_id}", seed=7, negative_prompt="blur", resolution=resolution
    )
    job = ImageJob(
        id=job_id, user_id=user, parameters=params, tokens_cost=5, created_at=T0 + created, status=status
    )
    for name, value in fields.items():
        setattr(job, name, value)
    return job
