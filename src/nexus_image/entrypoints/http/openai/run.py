"""One OpenAI-style request's jobs, from submission to the images handed back.

OpenAI's API answers with the finished images, so the request waits for its jobs (at most the
`Prefer: wait=N` asked for, else NEXUS_IMAGE_OPENAI_WAIT_SECONDS, never over 60 s; each job's
deadline is that wait too, so one not started in time expires). Whatever has not ended when
the wait is over is cancelled: refunded, never charged after the client was told it failed."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from litestar import Request

from nexus_image.application.audit import RecordAudit
from nexus_image.application.cancel import CancelGeneration
from nexus_image.application.dto import ImageView
from nexus_image.application.errors import Conflict
from nexus_image.application.images import ImageQueries
from nexus_image.application.ports import LiveEventFeed
from nexus_image.domain.job import JobStatus
from nexus_image.entrypoints.http.controllers.images import served_urls
from nexus_image.entrypoints.http.openai.bodies import OpenAIImage
from nexus_image.entrypoints.http.openai.errors import OpenAIError
from nexus_image.entrypoints.http.submission import Submission, submit_audited
from nexus_image.entrypoints.http.waiting import watching


@dataclass(slots=True)
class OpenAIJobs:
    """The collaborators and limits of one request; `cleanup` removes what the request made
    for itself (an edit's uploads) once its jobs have ended."""

    request: Request[Any, Any, Any]
    user: str
    seconds: int
    feed: LiveEventFeed
    queries: ImageQueries
    cancel: CancelGeneration
    audit: RecordAudit
    cleanup: Callable[[], None] | None = None

    async def submit(self, submission: Submission) -> list[ImageView]:
        """Submitted (the caller subscribed to the jobs' events first); a refusal cleans up at
        once."""
        try:
            return await anyio.to_thread.run_sync(submit_audited, self.audit, submission)
        except Exception:
            await self._clean()
            raise

    async def images(self, submission: Submission) -> list[ImageView]:
        """The jobs once they have ended, or were cancelled when the wait was over."""
        views: list[ImageView] = []
        try:
            async with watching(self.feed, self.queries, self.user) as watch:
                views = await self.submit(submission)
                views = await watch.until_ended([v.id for v in views], self.seconds)
        finally:  # also when the request is cancelled (a shutdown): nothing left running, charged
            views = await self.settle(views)
        return views

    async def settle(self, views: list[ImageView]) -> list[ImageView]:
        """Cancel what has not ended (one that ends meanwhile stays as it ended), clean up,
        and read the jobs again. Shielded: a client gone does not leave a job running."""
        with anyio.CancelScope(shield=True):
            unfinished = [v.id for v in views if not v.status.is_terminal]
            if unfinished:
                await anyio.to_thread.run_sync(self._cancel, unfinished)
                views = await anyio.to_thread.run_sync(
                    lambda: [self.queries.get(self.user, v.id) for v in views]
                )
            await self._clean()
        return views

    def _cancel(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            try:
                self.cancel.execute(self.user, job_id)
            except Conflict:
                pass  # it ended between the read and the cancel: as it ended

    async def _clean(self) -> None:
        if self.cleanup is not None:
            cleanup, self.cleanup = self.cleanup, None
            await anyio.to_thread.run_sync(cleanup)

    def delivered(self, views: list[ImageView]) -> list[ImageView]:
        """The completed images; when none is, why, as an OpenAI error."""
        done = [v for v in views if v.status is JobStatus.COMPLETED]
        if done:
            return done
        failed = [v for v in views if v.status is JobStatus.FAILED]
        if failed and len(failed) == len(views):
            reason = failed[0].failure_reason or "the generation failed"
            message = f"the image could not be generated ({reason}); its tokens were refunded"
            raise OpenAIError(500, message, "generation_failed", retry=True)
        message = (
            f"the image was not ready within {self.seconds} s, so it was cancelled and its tokens "
            "refunded; try again later (`Prefer: wait=N` waits up to 60 s)"
        )
        raise OpenAIError(504, message, "generation_timeout")

    async def png_base64(self, view: ImageView) -> str:
        data, _ = await anyio.to_thread.run_sync(self.queries.content, self.user, view.id)
        return base64.b64encode(data).decode("ascii")

    async def answer(self, view: ImageView, response_format: str | None) -> OpenAIImage:
        """One image as asked: its URL (see `served_urls`) or, by default, its PNG in base64."""
        revised = view.parameters.styled_prompts()[0]
        if response_format == "url":
            url, _ = served_urls(self.request, view)
            return OpenAIImage(url=url, revised_prompt=revised)
        return OpenAIImage(b64_json=await self.png_base64(view), revised_prompt=revised)
