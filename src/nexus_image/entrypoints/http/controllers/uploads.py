"""Uploads (starting images and masks) and the LoRA adapters the operator offers."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from msgspec import Struct

from nexus_image.application.access import MAX_UPLOAD_BYTES
from nexus_image.application.ports import LoraCatalog, ModelCatalog, RateLimiter, default_model
from nexus_image.application.ports.upscaling import UpscalerCatalog
from nexus_image.application.uploads import ManageUploads, UploadView
from nexus_image.domain.parameters import MAX_LORA_WEIGHT, MAX_LORAS, MIN_LORA_WEIGHT
from nexus_image.domain.resolution import Resolution
from nexus_image.entrypoints.http.controllers.images import private_file
from nexus_image.entrypoints.http.docs import problems
from nexus_image.entrypoints.http.inputs import MULTIPART_SLACK, form_file
from nexus_image.entrypoints.http.limits import count_request
from nexus_image.entrypoints.http.models import ModelWatch
from nexus_image.entrypoints.http.schemas import UploadPage, UploadResponse


def upload_response(request: Request[Any, Any, Any], view: UploadView) -> UploadResponse:
    """As images: object-storage URLs as they are, files on the server's disk through the API."""
    url = view.url
    if not url.startswith(("https://", "http://")):
        public: str = request.app.state.get("public_url") or ""
        url = f"{public.rstrip('/')}/api/v1/uploads/{view.id}/file"
    return UploadResponse(
        upload_id=view.id,
        width=view.width,
        height=view.height,
        size=view.size,
        source_format=view.source_format,
        content_type=view.content_type,
        created_at=view.created_at.astimezone(UTC),
        url=url,
    )


class LoraResponse(Struct, kw_only=True):
    name: str
    size: int


class LorasResponse(Struct, kw_only=True):
    """The adapters a request may name in `loras`, with the bounds of a request."""

    loras: list[LoraResponse]
    max_per_image: int = MAX_LORAS
    min_weight: float = MIN_LORA_WEIGHT
    max_weight: float = MAX_LORA_WEIGHT


class UpscalerResponse(Struct, kw_only=True):
    name: str
    scale: int | None  # the model's own enlargement (None: any)
    kind: str  # lanczos | esrgan
    size: int | None  # bytes of its file (None: no file)


class UpscalersResponse(Struct, kw_only=True):
    upscalers: list[UpscalerResponse]


class ModelResponse(Struct, kw_only=True):
    """A model a request may name in `model`."""

    name: str
    default: bool
    source: str | None = None  # hub:ORG/REPO, file:…, folder:…, built-in
    revision: str | None = None
    size: int | None = None  # bytes
    random: bool = False  # random weights: its images are noise (offered only until a model is installed)
    loaded: bool | None = None  # in this server's memory now (the embedded worker's; null elsewhere)


class DownloadResponse(Struct, kw_only=True):
    """The model download in progress (or the last one), as `nexus-image models pull` reports it."""

    name: str
    source: str
    state: str  # checking, downloading, verifying, installed, failed
    bytes_done: int
    bytes_total: int
    bytes_per_second: float
    error: str | None = None


class ModelsResponse(Struct, kw_only=True):
    """The models offered here: each renders at every resolution, at the same prices."""

    models: list[ModelResponse]
    default: str | None
    resolutions: list[str]
    download: DownloadResponse | None = None


def models_view(catalog: ModelCatalog | None, watch: ModelWatch) -> ModelsResponse:
    """The models offered, which are in memory here, and the download this server shows."""
    offered = catalog.offered() if catalog is not None else []
    chosen = default_model(offered)
    loaded = watch.loaded() if watch.loaded is not None else None
    download = watch.download() if watch.download is not None else None
    return ModelsResponse(
        models=[
            ModelResponse(
                name=m.name,
                default=m is chosen,
                source=m.source,
                revision=m.revision,
                size=m.size,
                random=m.random,
                loaded=None if loaded is None else m.name in loaded,
            )
            for m in offered
        ],
        default=chosen.name if chosen is not None else None,
        resolutions=[r.value for r in Resolution],
        download=msgspec.convert(download, DownloadResponse) if download is not None else None,
    )


class UploadsController(Controller):
    path = "/uploads"
    tags = ["uploads"]

    @post(
        "/",
        status_code=201,
        summary="Upload a starting image or a mask",
        request_max_body_size=MAX_UPLOAD_BYTES + MULTIPART_SLACK,
        responses=problems(400, 409, 413, 422, 429),
    )
    async def upload(
        self, request: Request[Any, Any, Any], user: str, uploads: ManageUploads, limiter: RateLimiter
    ) -> Response[UploadResponse]:
        """A multipart upload (field `file`) of a PNG, JPEG or WebP of at most 10 MB and 2048
        pixels a side, for `init_image_id` (image to image) or `mask_image_id` (inpainting:
        white is repainted, black kept). It is checked before it is kept (the header first,
        so a small file claiming a huge canvas is refused unread), kept as PNG without its
        metadata, private to the caller, and counted against their upload allowance."""
        count_request(limiter, user)
        data = await form_file(request, "send the image as the multipart field `file`")
        view = await anyio.to_thread.run_sync(uploads.upload, user, data)
        return Response(
            upload_response(request, view),
            status_code=201,
            headers={"Location": f"/api/v1/uploads/{view.id}"},
        )

    @get("/", sync_to_thread=True, summary="The caller's uploads, newest first", responses=problems())
    def mine(self, request: Request[Any, Any, Any], user: str, uploads: ManageUploads) -> UploadPage:
        found = uploads.list(user)
        return UploadPage(
            items=[upload_response(request, view) for view in found.items],
            count=found.count,
            bytes_used=found.bytes_used,
            max_count=found.max_count,
            max_bytes=found.max_bytes,
        )

    @get("/{upload_id:str}", sync_to_thread=True, summary="One upload", responses=problems(404))
    def one(
        self, request: Request[Any, Any, Any], upload_id: str, user: str, uploads: ManageUploads
    ) -> UploadResponse:
        return upload_response(request, uploads.get(user, upload_id))

    @get(
        "/{upload_id:str}/file",
        sync_to_thread=True,
        summary="Download an upload (as PNG)",
        media_type="image/png",
        responses=problems(404),
    )
    def file(self, upload_id: str, user: str, uploads: ManageUploads) -> Response[bytes]:
        return private_file(uploads.content(user, upload_id), "image/png")

    @delete("/{upload_id:str}", sync_to_thread=True, summary="Delete an upload", responses=problems(404))
    def remove(self, upload_id: str, user: str, uploads: ManageUploads) -> None:
        """Gone at once for new requests; a job already queued with it fails and is refunded."""
        uploads.delete(user, upload_id)


class ModelsController(Controller):
    path = "/models"
    tags = ["models"]

    @get("/", sync_to_thread=True, summary="The models a request may name", responses=problems())
    def models(self, model_catalog: ModelCatalog | None, state: State) -> ModelsResponse:
        """The operator's models by name (`model` in a generate request), which is the default,
        and the download in progress where this server pulls one (a first run)."""
        return models_view(model_catalog, state.model_watch)

    @get("/upscalers", sync_to_thread=True, summary="The upscalers a request may name", responses=problems())
    def upscalers(self, upscaler_catalog: UpscalerCatalog) -> UpscalersResponse:
        """`lanczos` (no file), and the ESRGAN-family files the operator put in
        NEXUS_IMAGE_UPSCALER_DIR, by name (`upscaler` of `POST /images/{id}/upscale`,
        `hires_upscaler` of a generate request, where `latent` is offered too)."""
        return UpscalersResponse(
            upscalers=[
                UpscalerResponse(name=u.name, scale=u.scale, kind=u.kind, size=u.size)
                for u in upscaler_catalog.available()
            ]
        )

    @get("/loras", sync_to_thread=True, summary="The LoRA adapters a request may use", responses=problems())
    def loras(self, lora_catalog: LoraCatalog) -> LorasResponse:
        """The `.safetensors` files the operator put in NEXUS_IMAGE_LORA_DIR, by name."""
        found = lora_catalog.available()
        return LorasResponse(loras=[LoraResponse(name=lora.name, size=lora.size) for lora in found])
