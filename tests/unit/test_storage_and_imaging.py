from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from nexus_image.adapters.filesystem import FileStorage
from nexus_image.adapters.imaging import PillowEncoder, read_png_metadata
from nexus_image.application import NotFound
from nexus_image.application.ports import RawImage
from nexus_image.application.storage_keys import image_key, user_prefix


def test_file_storage_round_trip_and_idempotent_delete(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path)
    stored = storage.put("images/u/1.png", b"abc", "image/png", {"seed": "1"})
    assert stored.size == 3
    assert storage.get("images/u/1.png") == b"abc"
    assert storage.url("images/u/1.png", public=False).startswith("file://")
    storage.delete("images/u/1.png")
    storage.delete("images/u/1.png")
    with pytest.raises(NotFound):
        storage.get("images/u/1.png")
    with pytest.raises(ValueError, match="escapes"):
        storage.put("../outside", b"x", "text/plain", {})


def test_keys_are_safe_and_distinct_per_user() -> None:
    assert image_key("alice", "j1") == "images/alice/j1.png"
    assert user_prefix("../etc") != user_prefix("..-etc")
    assert "/" not in user_prefix("a/b") and user_prefix("a/b").startswith("u-")


@pytest.mark.parametrize(("size", "thumb"), [((512, 512), (256, 256)), ((1024, 1536), (171, 256))])
def test_png_carries_parameters_and_thumbnail_is_256_on_long_side(
    size: tuple[int, int], thumb: tuple[int, int]
) -> None:
    w, h = size
    raw = RawImage(w, h, bytes((x * 7) % 256 for x in range(w * h * 3)))
    encoded = PillowEncoder().encode(raw, {"prompt": "un château, 龍", "seed": "42"})
    with Image.open(io.BytesIO(encoded.image)) as image:
        assert image.size == size and image.format == "PNG"
    assert read_png_metadata(encoded.image) == {"prompt": "un château, 龍", "seed": "42"}
    with Image.open(io.BytesIO(encoded.thumbnail)) as small:
        assert small.size == thumb and small.format == "WEBP"
    jpeg = PillowEncoder(thumbnail_format="JPEG").encode(raw, {})
    assert (jpeg.thumbnail_content_type, jpeg.thumbnail_extension) == ("image/jpeg", "jpg")
