"""Generating an image and following one: request, read, download, cancel, delete."""

from __future__ import annotations

from collections.abc import Callable
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
from nexus_image.application.errors import RateLimitExceeded
from nexus_image.application.images import ImageQueries, ManageImages
from nexus_image.application.read_parameters import ReadParameters
from nexus_image.application.request_generation import RequestGeneration
from nexus_image.entrypoints.http.actions import AuditNote, audited
from nexus_image.entrypoints.http.auth import caller_tier
from nexus_image.entrypoints.http.docs import problems
from nexus_image.entrypoints.http.errors import RateLimited
from nexus_image.entrypoints.http.inputs import MULTIPART_SLACK, form_file
from nexus_image.entrypoints.http.limits import retry_after_header
from nexus_image.entrypoints.http.schemas import (
    GeneratedResponse,
    GenerateRequest,
    ImageResponse,
    ParametersResponse,
    RemixRequest,
)

IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        max_length=255,
        description="Send the same key again (with the same body) to get the same job, charged once.",
    ),
]


def respond(request: Request[Any, Any, Any], view: ImageView) -> ImageResponse:
    """Object-storage URLs clients can use as they are (http: presigned S3, a CDN); files on the
    server's own disk are offered through this API instead of as server paths: absolute from
    NEXUS_IMAGE_PUBLIC_URL when it is set, relative otherwise — never from the request's `Host`
    header, which the client chooses."""
    storage, thumbnail = view.storage_url, view.thumbnail_url
    if storage is not None and not storage.startswith(("https://", "http://")):
        public: str = request.app.state.get("public_url") or ""
        base = f"{public.rstrip('/')}/api/v1/images/{view.id}"
        storage, thumbnail = f"{base}/file", f"{base}/thumbnail"
    return ImageResponse.of(view, storage, thumbnail)


def created(
    request: Request[Any, Any, Any],
    submit: Callable[[], tuple[list[ImageView], bool]],
    note: AuditNote,
) -> Response[GeneratedResponse]:
    """The 201 of a generation request: the first job, and every job of the request (`submit`
    writes the success audit row, `note.text`, in the request's transaction)."""
    try:
        views, _ = submit()
    except RateLimitExceeded as error:
        raise RateLimited(retry_after_header(error.wait)) from error
    note.target = views[0].id
    images = [respond(request, view) for view in views]
    body = GeneratedResponse(**structs.asdict(images[0]), images=images)
    return Response(body, status_code=201, headers={"Location": f"/api/v1/images/{views[0].id}"})


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
        sync_to_thread=True,
        summary="Request an image",
        responses=problems(400, 402, 404, 409, 413, 415, 422, 429),
        response_headers=[
            ResponseHeader(
                name="Location", description="The new image", documentation_only=True, required=True
            )
        ],
    )
    def generate(
        self,
        request: Request[Any, Any, Any],
        data: GenerateRequest,
        user: str,
        request_generation: RequestGeneration,
        audit: RecordAudit,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[GeneratedResponse]:
        """Moderated, charged (the resolution's price per image) and queued at once; 201 with the
        QUEUED job, and in `images` every job of the request (1 to 4 images: one job each,
        consecutive seeds, one `group_id`, all charged or none). Failed and cancelled jobs are
        refunded. Counts once against the caller's rate limit unless it is refused for the
        balance (402) or replays an Idempotency-Key (the same jobs again). The rate-limit check,
        the jobs, the charges, their events, the key and the audit row are one transaction."""
        with audited(audit, user, "image.generate", success_recorded=True) as note:
            command = data.command(user, idempotency_key, caller_tier(request))
            return created(request, lambda: request_generation.submit(command, note.text, limited=True), note)

    @post(
        "/{image_id:str}/remix",
        status_code=201,
        sync_to_thread=True,
        summary="A new image from one's settings",
        responses=problems(400, 402, 404, 409, 413, 415, 422, 429),
    )
    def remix(
        self,
        request: Request[Any, Any, Any],
        image_id: str,
        data: RemixRequest,
        user: str,
        request_generation: RequestGeneration,
        audit: RecordAudit,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[GeneratedResponse]:
        """A generate request made of the stored parameters of one of the caller's images (or a
        public one: another user's private image is 404), with the body's fields changed. It is
        moderated, charged, rate limited and answered exactly like `POST /images/generate`."""
        with audited(audit, user, "image.remix", image_id, success_recorded=True) as note:
            note.detail = f"remix of {image_id}"
            command = data.command(user, idempotency_key, caller_tier(request))
            return created(
                request, lambda: request_generation.remix(image_id, command, note.text, limited=True), note
            )

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

    @get("/{image_id:str}", sync_to_thread=True, summary="An image and its status", responses=problems(404))
    def get_image(
        self, request: Request[Any, Any, Any], image_id: str, user: str, queries: ImageQueries
    ) -> ImageResponse:
        """The caller's own images, and anyone's public completed ones."""
        return respond(request, queries.get(user, image_id))

    @get(
        "/{image_id:str}/file",
        sync_to_thread=True,
        summary="Download the PNG",
        media_type="image/png",
        responses=problems(404),
    )
    def file(self, image_id: str, user: str, queries: ImageQueries) -> Response[bytes]:
        """The full image, with its generation parameters in PNG text chunks (COMPLETED only)."""
        return download(queries, user, image_id, thumbnail=False)

    @get(
        "/{image_id:str}/thumbnail",
        sync_to_thread=True,
        summary="Download the thumbnail",
        media_type="image/webp",
        responses=problems(404),
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
    ) -> ImageResponse:
        """Refunds the cost; a running job stops at its next step. A finished one is a 409."""
        with audited(audit, user, "image.cancel", image_id):
            view = cancel_generation.execute(user, image_id)
        return respond(request, view)

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
