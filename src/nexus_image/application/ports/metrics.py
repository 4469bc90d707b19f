"""Business measurements."""

from __future__ import annotations

from typing import Protocol


class Metrics(Protocol):
    """Business measurements; adapters turn them into Prometheus series or drop them."""

    def generation_requested(
        self, style: str, resolution: str, tokens: int, model: str | None = None
    ) -> None: ...
    def generation_finished(
        self, outcome: str, resolution: str, seconds: float, model: str | None = None
    ) -> None: ...
    def storage_upload(self, seconds: float) -> None: ...
    def finish_stage(self, stage: str, seconds: float) -> None:
        """One stage of finishing a rendered image on the worker: `check` (the output check),
        `encode` (PNG with its metadata, and the thumbnail), `store` (both objects) or `settle`
        (the transaction that completes the job and writes its event)."""

    def image_checked(self, checker: str, flagged: bool, score: float) -> None: ...
    def prompt_refused(self, category: str, layer: str) -> None: ...
    def queue_refused(self, tier: str) -> None:
        """A request refused because its user had too many images queued."""

    def queue_waited(self, tier: str, seconds: float) -> None:
        """A job of `tier` started after waiting `seconds` since its request."""

    def job_expired(self, tier: str) -> None: ...
    def webhook_attempted(self, outcome: str) -> None:
        """One webhook attempt: `delivered`, `retry` (failed, tried again later) or `failed`."""


class NullMetrics:
    """Measurements dropped: for roles and library users with no metrics backend."""

    def generation_requested(
        self, style: str, resolution: str, tokens: int, model: str | None = None
    ) -> None:
        return None

    def generation_finished(
        self, outcome: str, resolution: str, seconds: float, model: str | None = None
    ) -> None:
        return None

    def storage_upload(self, seconds: float) -> None:
        return None

    def finish_stage(self, stage: str, seconds: float) -> None:
        return None

    def image_checked(self, checker: str, flagged: bool, score: float) -> None:
        return None

    def prompt_refused(self, category: str, layer: str) -> None:
        return None

    def queue_refused(self, tier: str) -> None:
        return None

    def queue_waited(self, tier: str, seconds: float) -> None:
        return None

    def job_expired(self, tier: str) -> None:
        return None

    def webhook_attempted(self, outcome: str) -> None:
        return None
