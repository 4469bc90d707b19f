"""Worker side: run queued jobs through the generator, store the results, settle the outcome,
in three stages (claim, render, finish) that `ProcessJobs` runs in turn."""

from nexus_image.application.process_job.claim import ClaimJobs
from nexus_image.application.process_job.finish import FinishImage, png_metadata
from nexus_image.application.process_job.orchestrator import ProcessJobs, Submit
from nexus_image.application.process_job.render import Pacing, RenderBatch, StepWatch
from nexus_image.application.process_job.retry import StorageRetry

__all__ = [
    "ClaimJobs",
    "FinishImage",
    "Pacing",
    "ProcessJobs",
    "RenderBatch",
    "StepWatch",
    "StorageRetry",
    "Submit",
    "png_metadata",
]
