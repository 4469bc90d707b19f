"""Generating an image and following one: request, read, download, cancel, delete."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import ResponseHeader
from litestar.params import Parameter
from msgspec import structs

from nexus_image.application.access import MAX_UPLOAD_BYTES
from nexus_image.application.audit import RecordAudit
from nexus_image.application.cancel import CancelGeneration
from nexus_image.application.dto import ImageView
from nexus_image.application.images import ImageQueries, ManageImages
from nexus_image.application.ports import LiveEventFeed
from nexus_image.application.read_parameters import ReadParameters
from nexus_image.application.request_generation import RequestGeneration
from nexus_image.application.upscale import UpscaleCommand, UpscaleImage
from nexus_image.entrypoints.http.actions import audited
from nexus_image.entrypoints.http.auth import caller_tier
from nexus_image.entrypoints.http.docs import problems
from nexus_image.entrypoints.http.inputs import MULTIPART_SLACK, form_file
from nexus_image.entrypoints.http.prefer import PREFERENCE_APPLIED, PreferHeader
from nexus_image.entrypoints.http.schemas import (
    CancelResponse,
    GeneratedResponse,
    GenerateRequest,
    ImageResponse,
    ParametersResponse,
    RemixRequest,
    UpscaleRequest,
)
from nexus_image.entrypoints.http.submission import Submission, submit_audited
from nexus_image.entrypoints.http.waiting import ended_or_waited, requested_wait, watching

IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        max_length=255,
        description="Send the same key again (with the same body) to get the same job, charged once.",
    ),
]

APPLIED = ResponseHeader(
    name=PREFERENCE_APPLIED,
    description="`wait=N`: the answer waited for the jobs to end, at most N seconds (`Prefer: wait`)",
    documentation_only=True,
)


def served_urls(request: Request[Any, Any, Any], view: ImageView) -> tuple[str | None, str | None]:
    """Object-storage URLs clients can use as they are (http: presigned S3, a CDN); files on the
    server's own disk are offered through this API instead of as server paths: absolute from
    NEXUS_IMAGE_PUBLIC_URL when it is set, relative otherwise — never from the request's `Host`
    header, which the client chooses."""
    storage, thumbnail = view.storage_url, view.thumbnail_url
    if storage is not None and not storage.startswith(("https://", "http://")):
        public: str = request.app.state.get("public_url") or ""
        base = f"{public.rstrip('/')}/api/v1/images/{view.id}"
        storage, thumbnail = f"{base}/file", f"{base}/thumbnail"
    return storage, thumbnail


def respond(request: Request[Any, Any, Any], view: ImageView) -> ImageResponse:
    """An image as the API shows it, with the URLs `served_urls` gives."""
    return ImageResponse.of(view, *served_urls(request, view))


async def created(
    request: Request[Any, Any, Any],
    audit: RecordAudit,
    submission: Submission,
    feed: LiveEventFeed,
    queries: ImageQueries,
) -> Response[GeneratedResponse]:
    """The 201 of a generation request: the first job, and every job of the request. With
    `Prefer: wait=N`, once they have all ended or N seconds have passed, as they are then."""
    wait = requested_wait(request)
    headers: dict[str, str] = {}
    if wait is None:
        views = await anyio.to_thread.run_sync(submit_audited, audit, submission)
    else:
        async with watching(feed, queries, submission.user) as watch:
            views = await anyio.to_thread.run_sync(submit_audited, audit, submission)
            views = await watch.until_ended([v.id for v in views], wait.seconds)
        headers.update(wait.applied)
    images = [respond(request, view) for view in views]
    body = GeneratedResponse(**structs.asdict(images[0]), images=images)
    headers["Location"] = f"/api/v1/images/{views[0].id}"
    return Response(body, status_code=201, headers=headers)


def download(queries: ImageQueries, user: str, image_id: str, thumbnail: bool) -> Response[bytes]:
    data, content_type = queries.content(user, image_id, thumbnail=thumbnail)
    return private_file(data, content_type)


def private_file(data: bytes, content_type: str) -> Response[bytes]:
    """A file of the caller's: cached by their browser only, never sniffed as another type."""
    return Response(
        data,
        media_type=content_type,
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


class ImagesController(Controller):
    path = "/images"
    tags = ["images"]

    @post(
        "/generate",
        status_code=201,
        summary="Request an image",
        responses=problems(400, 402, 404, 409, 413, 415, 422, 429),
        response_headers=[
            ResponseHeader(
                name="Location", description="The new image", documentation_only=True, required=True
            ),
            APPLIED,
        ],
    )
    async def generate(
        self,
        request: Request[Any, Any, Any],
        data: GenerateRequest,
        user: str,
        request_generation: RequestGeneration,
        audit: RecordAudit,
        broadcaster: LiveEventFeed,
        queries: ImageQueries,
        idempotency_key: IdempotencyKey = None,
        prefer: PreferHeader = None,
    ) -> Response[GeneratedResponse]:
        """Moderated, charged (the resolution's price per image) and queued at once; 201 with the
        QUEUED job, and in `images` every job of the request (1 to 4 images: one job each,
        consecutive seeds, one `group_id`, all charged or none). Failed and cancelled jobs are
        refunded. Counts once against the caller's rate limit unless it is refused for the
        balance (402) or replays an Idempotency-Key (the same jobs again). The rate-limit check,
        the jobs, the charges, their events, the key and the audit row are one transaction.
        With `Prefer: wait=N`, the 201 comes once the jobs have ended or N seconds have passed
        (with `deadline_seconds`, a job not started in time ends EXPIRED, refunded)."""
        command = data.command(user, idempotency_key, caller_tier(request))
        submission = Submission(
            user, "image.generate", lambda note: request_generation.submit(command, note.text, limited=True)
        )
        return await created(request, audit, submission, broadcaster, queries)

    @post(
        "/{image_id:str}/remix",
        status_code=201,
        summary="A new image from one's settings",
        responses=problems(400, 402, 404, 409, 413, 415, 422, 429),
        response_headers=[APPLIED],
    )
    async def remix(
        self,
        request: Request[Any, Any, Any],
        image_id: str,
        data: RemixRequest,
        user: str,
        request_generation: RequestGeneration,
        audit: RecordAudit,
        broadcaster: LiveEventFeed,
        queries: ImageQueries,
        idempotency_key: IdempotencyKey = None,
        prefer: PreferHeader = None,
    ) -> Response[GeneratedResponse]:
        """A generate request made of the stored parameters of one of the caller's images (or a
        public one: another user's private image is 404), with the body's fields changed. It is
        moderated, charged, rate limited and answered exactly like `POST /images/generate`,
        `Prefer: wait=N` included."""
        command = data.command(user, idempotency_key, caller_tier(request))
        submission = Submission(
            user,
            "image.remix",
            lambda note: request_generation.remix(image_id, command, note.text, limited=True),
            target=image_id,
            detail=f"remix of {image_id}",
        )
        return await created(request, audit, submission, broadcaster, queries)

    @post(
        "/{image_id:str}/upscale",
        status_code=201,
        summary="A larger copy of an image, made by an upscaler",
        responses=problems(400, 402, 404, 409, 410, 422, 429),
        response_headers=[APPLIED],
    )
    async def upscale(
        self,
        request: Request[Any, Any, Any],
        image_id: str,
        data: UpscaleRequest,
        user: str,
        upscale: UpscaleImage,
        audit: RecordAudit,
        broadcaster: LiveEventFeed,
        queries: ImageQueries,
        idempotency_key: IdempotencyKey = None,
        prefer: PreferHeader = None,
    ) -> Response[GeneratedResponse]:
        """One of the caller's finished images (or a public one: another user's private image is
        404) enlarged `factor` times (2 or 4, at most 4096 px a side) by `upscaler` (`lanczos`,
        or a model of `GET /models/upscalers`): a new image of the caller's, with the source's
        prompt and settings and `upscale_of` naming it, queued, charged by the output's size,
        rate limited and answered like `POST /images/generate`, `Prefer: wait=N` included."""
        command = UpscaleCommand(
            user,
            image_id,
            factor=data.factor,
            upscaler=data.upscaler,
            is_public=data.is_public,
            client_key=idempotency_key,
            tier=caller_tier(request),
        )

        def run(note: Any) -> tuple[list[ImageView], bool]:
            view, made = upscale.execute(command, note.text, limited=True)
            return [view], made

        submission = Submission(
            user, "image.upscale", run, target=image_id, detail=f"upscale of {image_id} x{data.factor}"
        )
        return await created(request, audit, submission, broadcaster, queries)

    @post(
        "/parameters",
        status_code=200,
        summary="The generation parameters in a PNG",
        request_max_body_size=MAX_UPLOAD_BYTES + MULTIPART_SLACK,
        responses=problems(400, 413, 422),
    )
    async def read_parameters(
        self, request: Request[Any, Any, Any], read_parameters: ReadParameters
    ) -> ParametersResponse:
        """A multipart upload (field `file`) of a PNG made here or by AUTOMATIC1111: the fields
        of a generate request found in its text (ready to send back), whose format it was, and
        the settings found that have no equivalent here. At most 10 MB; the pixels are never
        decoded, and nothing is stored."""
        data = await form_file(request, "send the PNG as the multipart field `file`")
        found = await anyio.to_thread.run_sync(read_parameters.execute, data)
        return ParametersResponse(
            source=found.source, parameters=found.parameters, unsupported=found.unsupported
        )

    @get(
        "/{image_id:str}",
        summary="An image and its status",
        responses=problems(404),
        response_headers=[APPLIED],
    )
    async def get_image(
        self,
        request: Request[Any, Any, Any],
        image_id: str,
        user: str,
        queries: ImageQueries,
        broadcaster: LiveEventFeed,
        prefer: PreferHeader = None,
    ) -> Response[ImageResponse]:
        """The caller's own images, and anyone's public completed ones. With `Prefer: wait=N`,
        a job of the caller's that has not ended yet is answered once it ends or N seconds
        pass, on whichever replica the job was requested. `expires_at`: when its tier's
        retention removes its files (null: kept forever; an image favorited by its owner, in
        an album or public is kept past it, as the operator configured); once removed, it still
        answers, with its status as it was, `data_removed_at` set and no URLs."""
        wait = requested_wait(request)
        if wait is None:
            view = await anyio.to_thread.run_sync(queries.get, user, image_id)
            return Response(respond(request, view))
        view = await ended_or_waited(broadcaster, queries, user, image_id, wait.seconds)
        return Response(respond(request, view), headers=wait.applied)

    @get(
        "/{image_id:str}/file",
        sync_to_thread=True,
        summary="Download the PNG",
        media_type="image/png",
        responses=problems(404, 410),
    )
    def file(self, image_id: str, user: str, queries: ImageQueries) -> Response[bytes]:
        """The full image, with its generation parameters in PNG text chunks (COMPLETED only).
        410 Gone once retention removed its files (the image itself still answers)."""
        return download(queries, user, image_id, thumbnail=False)

    @get(
        "/{image_id:str}/thumbnail",
        sync_to_thread=True,
        summary="Download the thumbnail",
        media_type="image/webp",
        responses=problems(404, 410),
    )
    def thumbnail(self, image_id: str, user: str, queries: ImageQueries) -> Response[bytes]:
        return download(queries, user, image_id, thumbnail=True)

    @post(
        "/{image_id:str}/cancel",
        status_code=200,
        sync_to_thread=True,
        summary="Cancel a queued or running job",
        responses=problems(403, 404, 409),
    )
    def cancel(
        self,
        request: Request[Any, Any, Any],
        image_id: str,
        user: str,
        cancel_generation: CancelGeneration,
        audit: RecordAudit,
    ) -> CancelResponse:
        """Refunds the cost (`NEXUS_IMAGE_CANCEL_REFUND=proportional`: the share of the steps
        not run, rounded up); a running job stops at its next step. A finished one is a 409."""
        with audited(audit, user, "image.cancel", image_id) as note:
            cancelled = cancel_generation.cancel(user, image_id)
            note.detail = f"refunded {cancelled.refunded}"
        shown = respond(request, cancelled.view)
        return CancelResponse(**structs.asdict(shown), refunded_tokens=cancelled.refunded)

    @delete(
        "/{image_id:str}",
        sync_to_thread=True,
        summary="Delete an image",
        responses=problems(403, 404),
    )
    def delete_image(self, image_id: str, user: str, manage: ManageImages, audit: RecordAudit) -> None:
        """A job still running is cancelled and refunded first; its files go with it."""
        with audited(audit, user, "image.delete", image_id):
            manage.delete(user, image_id)
