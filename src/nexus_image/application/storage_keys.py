"""Object keys: one folder per user, one object per job, so keys never collide."""

from __future__ import annotations

import hashlib
import re

_SAFE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def user_prefix(user_id: str) -> str:
    if _SAFE.match(user_id) and user_id not in {".", ".."}:
        return user_id
    return "u-" + hashlib.sha256(user_id.encode()).hexdigest()[:32]


def image_key(user_id: str, job_id: str) -> str:
    return f"images/{user_prefix(user_id)}/{job_id}.png"


def thumbnail_key(user_id: str, job_id: str, extension: str) -> str:
    return f"thumbnails/{user_prefix(user_id)}/{job_id}.{extension}"


def upload_key(user_id: str, upload_id: str) -> str:
    """An uploaded picture (stored as PNG), in its owner's folder."""
    return f"uploads/{user_prefix(user_id)}/{upload_id}.png"


def user_folders(user_id: str) -> tuple[str, ...]:
    """Every folder a user's objects are kept in (each ends with `/`)."""
    prefix = user_prefix(user_id)
    return (f"images/{prefix}/", f"thumbnails/{prefix}/", f"uploads/{prefix}/")
