"""`stream: true`: OpenAI's image streaming over Server-Sent Events, made of our live events.

Each live preview of a job (the small WebP of the image so far) is sent as a
`<kind>.partial_image` event, at most `partial_images` per image; each finished image as
`<kind>.completed` with its PNG in base64 (`kind` is `image_generation` or `image_edit`). A
request that cannot be submitted (moderation, balance, limits) is refused before the stream
starts, with the usual error; one whose images fail or do not come in time ends the stream
with an `error` event (`{"error": {...}}`, which the SDKs raise)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from litestar.response import ServerSentEvent, ServerSentEventMessage
from msgspec import json as msgspec_json

from nexus_image.application.dto import ImageView
from nexus_image.domain.events import GenerationProgress
from nexus_image.entrypoints.http.openai.errors import ErrorBody, ErrorDetail, OpenAIError
from nexus_image.entrypoints.http.openai.run import OpenAIJobs
from nexus_image.entrypoints.http.submission import Submission
from nexus_image.entrypoints.http.waiting import JobWatch


def _event(kind: str, view: ImageView, **fields: Any) -> ServerSentEventMessage:
    body = {
        "type": kind,
        "created_at": int(time.time()),
        "size": view.parameters.resolution.value,
        "quality": "auto",
        "background": "opaque",
        **fields,
    }
    return ServerSentEventMessage(data=json.dumps(body), event=kind)


async def _messages(
    jobs: OpenAIJobs, watch: JobWatch, views: list[ImageView], kind: str, partial_images: int
) -> AsyncIterator[ServerSentEventMessage]:
    by_id = {v.id: v for v in views}
    sent: dict[str, int] = {}
    settled = False
    try:
        async for event in watch.events(list(by_id), jobs.seconds):
            index = sent.get(event.job_id, 0)
            if isinstance(event, GenerationProgress) and event.preview and index < partial_images:
                sent[event.job_id] = index + 1
                yield _event(
                    f"{kind}.partial_image",
                    by_id[event.job_id],
                    b64_json=event.preview,
                    partial_image_index=index,
                    output_format="webp",
                )
        final = await jobs.settle(await watch.read(list(by_id)))
        settled = True
        try:
            done = jobs.delivered(final)
        except OpenAIError as error:
            body = ErrorBody(ErrorDetail(error.message, error.kind, None, error.code))
            yield ServerSentEventMessage(data=msgspec_json.encode(body).decode(), event="error")
            return
        for view in done:
            b64 = await jobs.png_base64(view)
            yield _event(f"{kind}.completed", view, b64_json=b64, output_format="png")
    finally:
        watch.subscription.close()
        if not settled:  # the client left: its jobs are cancelled, as after a wait
            await jobs.settle(views)


async def streamed(
    jobs: OpenAIJobs, submission: Submission, kind: str, partial_images: int
) -> ServerSentEvent:
    """The stream of a request, submitted (under a subscription opened first) before it starts."""
    watch = JobWatch(jobs.feed.subscribe(jobs.user, stream=False), jobs.queries, jobs.user)
    try:
        views = await jobs.submit(submission)
    except BaseException:
        watch.subscription.close()
        raise
    return ServerSentEvent(_messages(jobs, watch, views, kind, partial_images))
