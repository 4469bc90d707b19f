"""`POST /v1/images/generations` and `POST /v1/images/edits`, as OpenAI's images API answers
them, made of our own use cases: moderated, charged, rate limited, queued fairly and audited
exactly like `POST /api/v1/images/generate`."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Controller, Request, Response, post
from litestar.openapi.datastructures import ResponseSpec

from nexus_image.application.access import MAX_UPLOAD_BYTES
from nexus_image.application.audit import RecordAudit
from nexus_image.application.cancel import CancelGeneration
from nexus_image.application.dto import GenerateImage
from nexus_image.application.images import ImageQueries
from nexus_image.application.ports import LiveEventFeed, RateLimiter
from nexus_image.application.request_generation import RequestGeneration
from nexus_image.application.uploads import ManageUploads
from nexus_image.entrypoints.http.auth import act_for, caller_tier
from nexus_image.entrypoints.http.controllers.images import IdempotencyKey
from nexus_image.entrypoints.http.inputs import MULTIPART_SLACK
from nexus_image.entrypoints.http.openai.bodies import (
    GenerationsRequest,
    ImagesResponse,
    OpenAIRequest,
)
from nexus_image.entrypoints.http.openai.edits import edit_parts, uploaded_sources
from nexus_image.entrypoints.http.openai.errors import openai_errors
from nexus_image.entrypoints.http.openai.models import OpenAISetup
from nexus_image.entrypoints.http.openai.run import OpenAIJobs
from nexus_image.entrypoints.http.openai.sizes import resolution_for
from nexus_image.entrypoints.http.openai.streaming import streamed
from nexus_image.entrypoints.http.prefer import PreferHeader
from nexus_image.entrypoints.http.submission import Submission
from nexus_image.entrypoints.http.waiting import requested_wait

OK = ResponseSpec(data_container=ImagesResponse, description="The images", generate_examples=False)


async def answered(jobs: OpenAIJobs, body: OpenAIRequest, submission: Submission, kind: str) -> Response[Any]:
    """The images once done (or the stream of them), with `Preference-Applied` when asked."""
    wait = requested_wait(jobs.request)
    headers = wait.applied if wait is not None else {}
    if body.stream:
        stream = await streamed(jobs, submission, kind, body.partial_images or 0)
        stream.headers.update(headers)
        return stream
    views = jobs.delivered(await jobs.images(submission))
    data = [await jobs.answer(view, body.response_format) for view in views]
    created = int(views[0].created_at.timestamp())
    size = views[0].parameters.resolution.value
    return Response(ImagesResponse(created=created, data=data, size=size), headers=headers)


def submitted(
    request_generation: RequestGeneration, command: GenerateImage, seconds: int, detail: str
) -> Submission:
    """The request, each job's deadline the wait (or the one given, if shorter): a job not
    started by the time the answer is due expires, refunded, instead of running for nobody."""
    given = command.given.get("deadline_seconds")
    deadline = min(given, seconds) if isinstance(given, int) else seconds
    final = command.replaced(deadline_seconds=max(1, deadline))
    return Submission(
        command.user_id,
        "image.generate",
        lambda note: request_generation.submit(final, note.text, limited=True),
        detail=detail,
    )


def wait_seconds(request: Request[Any, Any, Any], setup: OpenAISetup) -> int:
    wait = requested_wait(request)
    return wait.seconds if wait is not None else setup.wait_seconds


class OpenAIImagesController(Controller):
    path = "/images"
    tags = ["openai"]

    @post(
        "/generations",
        status_code=200,
        summary="Generate images (OpenAI-compatible)",
        responses={200: OK, **openai_errors(400, 403, 404, 409, 413, 415, 429, 500, 504)},
    )
    async def generations(
        self,
        request: Request[Any, Any, Any],
        data: GenerationsRequest,
        request_generation: RequestGeneration,
        cancel_generation: CancelGeneration,
        queries: ImageQueries,
        broadcaster: LiveEventFeed,
        audit: RecordAudit,
        openai_setup: OpenAISetup,
        idempotency_key: IdempotencyKey = None,
        prefer: PreferHeader = None,
    ) -> Response[Any]:
        """`n` images of `prompt` at the resolution nearest `size`, as URLs or base64 PNGs
        (`response_format`, default `b64_json`), once generated; `stream: true` sends live
        previews as partial images first. Our own request fields go beside OpenAI's."""
        user = act_for(request, data.user)
        seconds = wait_seconds(request, openai_setup)
        command = data.command(user, idempotency_key, caller_tier(request), resolution_for(data.size))
        submission = submitted(request_generation, command, seconds, "OpenAI images API")
        jobs = OpenAIJobs(request, user, seconds, broadcaster, queries, cancel_generation, audit)
        return await answered(jobs, data, submission, "image_generation")

    @post(
        "/edits",
        status_code=200,
        summary="Edit an image (OpenAI-compatible)",
        request_max_body_size=2 * MAX_UPLOAD_BYTES + 2 * MULTIPART_SLACK,
        responses={200: OK, **openai_errors(400, 403, 404, 409, 413, 415, 429, 500, 504)},
    )
    async def edits(
        self,
        request: Request[Any, Any, Any],
        request_generation: RequestGeneration,
        cancel_generation: CancelGeneration,
        queries: ImageQueries,
        broadcaster: LiveEventFeed,
        audit: RecordAudit,
        uploads: ManageUploads,
        limiter: RateLimiter,
        openai_setup: OpenAISetup,
        prefer: PreferHeader = None,
    ) -> Response[Any]:
        """Multipart: `image` (PNG, JPEG or WebP) and an optional `mask` (a PNG whose
        transparent pixels mark where to paint, as OpenAI's), `prompt` and the other fields of
        a generation request. Without a mask the whole image is repainted (image to image, our
        `strength`, default 0.75); with one, only where it is transparent (inpainting, strength
        1 unless given). Both files are uploads of the caller's, counted and checked like
        `POST /api/v1/uploads`, and removed once the images have ended (so an edit takes no
        Idempotency-Key: its uploads are new each time)."""
        body, image, mask = await edit_parts(request)
        user = act_for(request, body.user)
        seconds = wait_seconds(request, openai_setup)
        sources = await uploaded_sources(uploads, limiter, user, image, mask)
        try:
            resolution = resolution_for(body.size, sources.size)
            command = body.command(user, None, caller_tier(request), resolution, **sources.fields)
        except Exception:
            await anyio.to_thread.run_sync(sources.remove)
            raise
        if mask is not None and body.strength is None:
            command = command.replaced(strength=1.0)
        submission = submitted(request_generation, command, seconds, "OpenAI images API: edit")
        jobs = OpenAIJobs(
            request, user, seconds, broadcaster, queries, cancel_generation, audit, cleanup=sources.remove
        )
        return await answered(jobs, body, submission, "image_edit")
