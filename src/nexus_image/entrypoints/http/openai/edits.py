"""The parts of an edit request: its multipart fields (checked as strictly as a JSON body,
with numbers and flags read from their text) and its files, kept as the caller's uploads."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Request
from litestar.datastructures import UploadFile

from nexus_image.application.errors import NotFound, PayloadTooLarge, StorageUnavailable
from nexus_image.application.ports import RateLimiter
from nexus_image.application.uploads import ManageUploads, UploadView
from nexus_image.domain.errors import InvalidValue
from nexus_image.entrypoints.http.inputs import invalid, read_form
from nexus_image.entrypoints.http.limits import count_request
from nexus_image.entrypoints.http.openai.bodies import EditsRequest

FILES = ("image", "mask")
_FIELD = re.compile(r"`\$\.([A-Za-z_][A-Za-z0-9_]*)|field `([A-Za-z_][A-Za-z0-9_]*)`")


def _value(text: str) -> Any:
    """A field's text; a list or an object is sent as JSON."""
    if text.lstrip().startswith(("[", "{")):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _decoded(fields: dict[str, Any]) -> EditsRequest:
    try:
        return msgspec.convert(fields, EditsRequest, strict=False)
    except msgspec.ValidationError as error:
        message = str(error)
        named = _FIELD.search(message)
        raise invalid(named and (named.group(1) or named.group(2)), message) from None


async def edit_parts(request: Request[Any, Any, Any]) -> tuple[EditsRequest, bytes, bytes | None]:
    """The request's fields, its image and its mask (None: no mask). Arrays may be sent as
    `name[]` (as the SDKs do); one image, at most one mask."""
    form = await read_form(request, "image")
    fields: dict[str, Any] = {}
    files: dict[str, list[bytes]] = {}
    for key, value in form.multi_items():
        name = key.removesuffix("[]")
        if isinstance(value, UploadFile):
            if name not in FILES:
                raise invalid(name, f"{name} is not a file field; send `image` and, optionally, `mask`")
            files.setdefault(name, []).append(await value.read())
        elif name in fields:
            raise invalid(name, f"{name} is given twice")
        elif "\x00" in value:
            raise invalid(name, f"{name} must not contain NUL characters")
        else:
            fields[name] = _value(value)
    images, masks = files.get("image", []), files.get("mask", [])
    if len(images) != 1:
        raise invalid("image", "send one image (PNG, JPEG or WebP) as the multipart file `image`")
    if len(masks) > 1:
        raise invalid("mask", "send at most one mask")
    return _decoded(fields), images[0], masks[0] if masks else None


@dataclass(frozen=True, slots=True)
class Sources:
    """An edit's uploads: the request fields naming them, the image's size, and how to remove
    them again."""

    fields: dict[str, str]
    size: tuple[int, int]
    remove: Callable[[], None]


async def _upload(
    uploads: ManageUploads, limiter: RateLimiter, user: str, data: bytes, part: str
) -> UploadView:
    """One file, counted against the rate limit and checked like `POST /api/v1/uploads`."""
    await anyio.to_thread.run_sync(count_request, limiter, user)
    try:
        return await anyio.to_thread.run_sync(uploads.upload, user, data, part == "mask")
    except InvalidValue as error:  # the upload names its file `file`: here it is `part`
        raise type(error)(part, error.message, error.allowed) from None
    except PayloadTooLarge as error:
        raise PayloadTooLarge(part, str(error)) from None


async def uploaded_sources(
    uploads: ManageUploads, limiter: RateLimiter, user: str, image: bytes, mask: bytes | None
) -> Sources:
    made: list[str] = []

    def remove() -> None:
        for upload_id in made:
            try:
                uploads.delete(user, upload_id)
            except (NotFound, StorageUnavailable):
                pass  # gone already, or kept until the storage answers: it is the caller's either way

    try:
        init = await _upload(uploads, limiter, user, image, "image")
        made.append(init.id)
        fields = {"init_image_id": init.id}
        if mask is not None:
            drawn = await _upload(uploads, limiter, user, mask, "mask")
            made.append(drawn.id)
            fields["mask_image_id"] = drawn.id
    except Exception:
        await anyio.to_thread.run_sync(remove)
        raise
    return Sources(fields, (init.width, init.height), remove)
