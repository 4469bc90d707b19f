"""Uploads, image to image, inpainting and LoRA adapters over HTTP: uploads are checked before
they are kept (format, damage, size, decompression bombs) and answered with 4xx problems, are
private (another user's upload answers like a missing one, everywhere), counted against an
allowance; generate takes them with a strength and a mask, priced by the operator's table, and
names only the operator's adapters."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from nexus_image.entrypoints.settings import Settings

from .conftest import Api, open_api


def encoded(
    size: tuple[int, int] = (64, 48), fmt: str = "PNG", color: Any = (200, 30, 30), mode: str = "RGB"
) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format=fmt)
    return out.getvalue()


def send(api: Api, data: bytes, user: str = "alice", name: str = "image.png", field: str = "file") -> Any:
    return api.request("POST", "/uploads", user, files={field: (name, data, "application/octet-stream")})


def uploaded(api: Api, data: bytes, user: str = "alice") -> dict[str, Any]:
    answer = send(api, data, user)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas (its one IDAT holds almost nothing)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(("fmt", "expected"), [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp")])
def test_a_png_jpeg_or_webp_is_kept_as_png_and_listed(api: Api, fmt: str, expected: str) -> None:
    body = uploaded(api, encoded((300, 200), fmt))
    assert [path for path in api.settings.data_dir.rglob("*.png") if "uploads" in path.parts]  # where kept
    assert (body["width"], body["height"], body["source_format"]) == (300, 200, expected)
    assert body["content_type"] == "image/png"
    stored = api.request("GET", f"/uploads/{body['upload_id']}/file")
    assert stored.status_code == 200 and stored.content.startswith(b"\x89PNG")
    assert Image.open(io.BytesIO(stored.content)).size == (300, 200)
    listed = api.request("GET", "/uploads").json()
    assert [item["upload_id"] for item in listed["items"]] == [body["upload_id"]]
    assert listed["count"] == 1 and listed["bytes_used"] == body["size"] == len(stored.content)


def test_a_phone_photo_is_turned_upright_and_loses_its_metadata(api: Api) -> None:
    image = Image.new("RGB", (40, 20), (10, 200, 10))
    exif = image.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° to show
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    body = uploaded(api, out.getvalue())
    assert (body["width"], body["height"]) == (20, 40)
    stored = api.request("GET", f"/uploads/{body['upload_id']}/file").content
    assert b"PhoneMaker" not in stored and not Image.open(io.BytesIO(stored)).getexif()


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"GIF89a" + b"\x00" * 100, 422, "not a PNG, JPEG or WebP"),
        (b"%PDF-1.7 hello", 422, "not a PNG, JPEG or WebP"),
        (b"", 422, "not a PNG, JPEG or WebP"),
        (encoded((64, 64), "JPEG")[:200], 422, "could not be read"),
        (encoded((64, 64), "PNG")[:60], 422, "could not be read"),
        (png_claiming(100_000, 100_000), 422, "at most 2048 pixels"),
        (png_claiming(2049, 16), 422, "at most 2048 pixels"),
        (encoded((2100, 10), "WEBP"), 422, "at most 2048 pixels"),
    ],
    ids=["gif", "pdf", "empty", "cut-jpeg", "cut-png", "bomb", "wide", "wide-webp"],
)
def test_what_is_not_a_usable_image_is_refused_with_a_problem_and_nothing_kept(
    api: Api, data: bytes, status: int, words: str
) -> None:
    answer = send(api, data)
    assert answer.status_code == status, answer.text
    problem = answer.json()
    assert problem["field"] == "file" and words in problem["detail"]
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert api.request("GET", "/uploads").json()["count"] == 0
    assert not [path for path in api.settings.data_dir.rglob("*") if "uploads" in path.parts]


def test_an_upload_over_10_mb_is_413_and_one_far_over_is_refused_unread(api: Api) -> None:
    over = b"\x89PNG\r\n\x1a\n" + b"\x00" * (10 * 1024 * 1024)
    answer = send(api, over)
    assert answer.status_code == 413 and answer.json()["field"] == "file"
    far = send(api, b"\x00" * (12 * 1024 * 1024))
    assert far.status_code == 413


def test_an_upload_needs_the_file_field(api: Api) -> None:
    answer = send(api, encoded(), field="picture")
    assert answer.status_code in (400, 422) and answer.json()["field"] == "file"


def test_another_users_upload_answers_like_a_missing_one_on_every_route(api: Api) -> None:
    bobs = uploaded(api, encoded(), user="bob")["upload_id"]
    for method, path in (
        ("GET", f"/uploads/{bobs}"),
        ("GET", f"/uploads/{bobs}/file"),
        ("DELETE", f"/uploads/{bobs}"),
    ):
        hidden, missing = api.request(method, path), api.request(method, path.replace(bobs, "nope"))
        assert hidden.status_code == 404 == missing.status_code, (method, path)
        assert hidden.json()["code"] == missing.json()["code"]
        assert hidden.json()["detail"].replace(bobs, "X") == missing.json()["detail"].replace("nope", "X")
    assert api.request("GET", "/uploads").json()["count"] == 0  # alice lists none of bob's
    for body in (
        {"init_image_id": bobs},
        {"init_image_id": uploaded(api, encoded())["upload_id"], "mask_image_id": bobs},
    ):
        answer = api.request("POST", "/images/generate", json={"prompt": "a fox", **body})
        assert answer.status_code == 404, answer.text
        assert answer.json()["field"] == ("mask_image_id" if "mask_image_id" in body else "init_image_id")
    assert api.request("GET", "/tokens/balance").json()["balance"] == 100  # nothing charged
    assert api.request("GET", f"/uploads/{bobs}", user="bob").status_code == 200


def test_img2img_and_inpainting_run_and_record_their_sources(api: Api) -> None:
    start = uploaded(api, encoded((512, 512), color=(120, 60, 200)))["upload_id"]
    mask = np.zeros((512, 512, 3), dtype=np.uint8)
    mask[:, 256:] = 255
    out = io.BytesIO()
    Image.fromarray(mask).save(out, format="PNG")
    hole = uploaded(api, out.getvalue())["upload_id"]
    repainted = api.completed(init_image_id=start, strength=0.5)
    assert (repainted["init_image_id"], repainted["strength"], repainted["mask_image_id"]) == (
        start,
        0.5,
        None,
    )
    inpainted = api.completed(init_image_id=start, mask_image_id=hole, strength=1.0)
    pixels = np.asarray(
        Image.open(io.BytesIO(api.request("GET", f"/images/{inpainted['id']}/file").content)).convert("RGB"),
        dtype=np.int16,
    )
    assert np.abs(pixels[:, :256] - (120, 60, 200)).max() == 0  # black in the mask: kept
    assert np.abs(pixels[:, 256:] - (120, 60, 200)).mean() > 10  # white: repainted
    default = api.completed(init_image_id=start)
    assert default["strength"] == 0.75  # the default denoising strength
    remix = api.request("POST", f"/images/{repainted['id']}/remix", json={"strength": 0.9}).json()
    assert (remix["init_image_id"], remix["strength"]) == (start, 0.9)
    kept_mask = api.request("POST", f"/images/{inpainted['id']}/remix", json={"seed": 9}).json()
    assert (kept_mask["init_image_id"], kept_mask["mask_image_id"]) == (start, hole)
    other = uploaded(api, encoded((300, 200)))["upload_id"]
    new_start = api.request("POST", f"/images/{inpainted['id']}/remix", json={"init_image_id": other})
    assert new_start.status_code == 201, new_start.text  # the old mask (of another size) is not kept
    assert (new_start.json()["init_image_id"], new_start.json()["mask_image_id"]) == (other, None)


def test_an_idempotent_retry_is_the_same_request_however_its_adapters_are_spelt(priced: Api) -> None:
    api = priced
    body = {"prompt": "a fox", "loras": [{"name": "grain"}, {"name": "ink-wash", "weight": 0.5}]}
    first = api.request("POST", "/images/generate", json=body, headers={"Idempotency-Key": "k1"})
    swapped = {**body, "loras": [{"name": "ink-wash", "weight": 0.5}, {"name": "grain", "weight": 1.0}]}
    again = api.request("POST", "/images/generate", json=swapped, headers={"Idempotency-Key": "k1"})
    assert first.status_code == 201 and again.status_code == 201 and again.json()["id"] == first.json()["id"]
    plain = api.request(
        "POST", "/images/generate", json={"prompt": "a cat"}, headers={"Idempotency-Key": "k2"}
    )
    empty = api.request(
        "POST", "/images/generate", json={"prompt": "a cat", "loras": []}, headers={"Idempotency-Key": "k2"}
    )
    assert empty.status_code == 201 and empty.json()["id"] == plain.json()["id"]
    assert api.request("GET", "/tokens/balance").json()["balance"] == 90


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"strength": 0.5}, "strength"),
        ({"mask_image_id": "abc"}, "mask_image_id"),
        ({"init_image_id": "UPLOAD", "strength": 0}, "strength"),
        ({"init_image_id": "UPLOAD", "strength": 1.5}, "strength"),
        ({"init_image_id": "UPLOAD", "strength": 0.1, "steps": 5}, "strength"),
        ({"init_image_id": "UPLOAD", "variation_seed": 3, "variation_strength": 0.5}, "variation_seed"),
        ({"init_image_id": "../../etc/passwd"}, "init_image_id"),
    ],
)
def test_bad_combinations_are_problems_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    start = uploaded(api, encoded())["upload_id"]
    sent = {k: start if v == "UPLOAD" else v for k, v in body.items()}
    answer = api.request("POST", "/images/generate", json={"prompt": "a fox", **sent})
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["field"] == field
    assert api.request("GET", "/tokens/balance").json()["balance"] == 100


def test_a_mask_of_another_size_is_refused(api: Api) -> None:
    start = uploaded(api, encoded((64, 64)))["upload_id"]
    other = uploaded(api, encoded((32, 64), color=(255, 255, 255)))["upload_id"]
    answer = api.request(
        "POST", "/images/generate", json={"prompt": "a fox", "init_image_id": start, "mask_image_id": other}
    )
    assert answer.status_code == 422 and answer.json()["field"] == "mask_image_id"
    assert "64x64" in answer.json()["detail"]


def test_a_deleted_upload_is_gone_and_its_queued_job_fails_refunded(api: Api) -> None:
    start = uploaded(api, encoded((512, 512)))["upload_id"]
    job = api.generate(init_image_id=start)
    assert api.request("GET", "/tokens/balance").json()["balance"] == 95
    assert api.request("DELETE", f"/uploads/{start}").status_code == 204
    assert api.request("GET", f"/uploads/{start}").status_code == 404
    assert api.run_jobs() == ["FAILED"]
    failed = api.request("GET", f"/images/{job['id']}").json()
    assert failed["status"] == "FAILED" and "starting image" in failed["failure_reason"]
    assert api.request("GET", "/tokens/balance").json()["balance"] == 100
    answer = api.request("POST", "/images/generate", json={"prompt": "a fox", "init_image_id": start})
    assert answer.status_code == 404 and answer.json()["field"] == "init_image_id"


@pytest.fixture
def small_allowance(tmp_path: Path, settings: Settings) -> Iterator[Api]:
    yield from open_api(settings.model_copy(update={"max_uploads_per_user": 2, "upload_quota_mb": 1}))


def test_uploads_count_against_the_users_allowance(small_allowance: Api) -> None:
    api = small_allowance
    first = uploaded(api, encoded())
    uploaded(api, encoded(color=(1, 2, 3)))
    full = send(api, encoded(color=(4, 5, 6)))
    assert (
        full.status_code == 409 and full.json()["field"] == "file" and "delete some" in full.json()["detail"]
    )
    assert uploaded(api, encoded(), user="bob")  # the allowance is each user's own
    assert api.request("DELETE", f"/uploads/{first['upload_id']}").status_code == 204
    assert uploaded(api, encoded(color=(7, 8, 9)))  # room again
    listed = api.request("GET", "/uploads").json()
    assert (listed["count"], listed["max_count"], listed["max_bytes"]) == (2, 2, 1024 * 1024)


def test_the_allowance_in_bytes_counts_too(small_allowance: Api) -> None:
    noisy = np.random.default_rng(0).integers(0, 256, (700, 700, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noisy).save(out, format="PNG")
    assert len(out.getvalue()) > 1024 * 1024
    answer = send(small_allowance, out.getvalue())
    assert answer.status_code == 409 and "bytes" in answer.json()["detail"]


@pytest.fixture
def priced(settings: Settings, tmp_path: Path) -> Iterator[Api]:
    folder = tmp_path / "loras"
    folder.mkdir()
    for name in ("grain", "ink-wash", "v1.5_detail"):
        (folder / f"{name}.safetensors").write_bytes(b"x" * 10)
    (folder / "notes.txt").write_text("not an adapter")
    (folder / "bad name.safetensors").write_bytes(b"x")
    changed = {"lora_dir": folder, "img2img_prices": "512x512=7", "inpaint_prices": "512x512=9,768x768=1"}
    yield from open_api(settings.model_copy(update=changed))


def test_image_to_image_and_inpainting_are_priced_by_the_operators_table(priced: Api) -> None:
    api = priced
    start = uploaded(api, encoded((64, 64)))["upload_id"]
    hole = uploaded(api, encoded((64, 64), color=(255, 255, 255)))["upload_id"]
    assert api.generate(init_image_id=start)["tokens_cost"] == 7
    assert api.generate(init_image_id=start, mask_image_id=hole)["tokens_cost"] == 9
    assert api.generate(init_image_id=start, resolution="1024x1024")["tokens_cost"] == 20  # unset: as txt2img
    assert api.generate()["tokens_cost"] == 5
    group = api.request(
        "POST", "/images/generate", json={"prompt": "a fox", "init_image_id": start, "num_images": 3}
    )
    assert [image["tokens_cost"] for image in group.json()["images"]] == [7, 7, 7]
    assert api.request("GET", "/tokens/balance").json()["balance"] == 100 - 7 - 9 - 20 - 5 - 21
    assert api.run_jobs().count("COMPLETED") == 7


def test_loras_are_listed_and_only_those_can_be_named(priced: Api) -> None:
    api = priced
    listed = api.request("GET", "/models/loras").json()
    assert [lora["name"] for lora in listed["loras"]] == ["grain", "ink-wash", "v1.5_detail"]
    assert (listed["max_per_image"], listed["min_weight"], listed["max_weight"]) == (3, 0.0, 2.0)
    unknown = api.request("POST", "/images/generate", json={"prompt": "a fox", "loras": [{"name": "nope"}]})
    assert unknown.status_code == 400, unknown.text
    problem = unknown.json()
    assert problem["field"] == "loras" and problem["allowed"] == ["grain", "ink-wash", "v1.5_detail"]
    for bad in (
        [{"name": "grain", "weight": 2.5}],
        [{"name": "grain"}, {"name": "grain"}],
        [{"name": n} for n in ("grain", "ink-wash", "v1.5_detail", "grain")],
        [{"name": "grain", "scale": 1}],
    ):
        answer = api.request("POST", "/images/generate", json={"prompt": "a fox", "loras": bad})
        assert answer.status_code in (400, 422) and answer.json()["field"] in ("loras", "data", None), (
            answer.text
        )
    made = api.completed(loras=[{"name": "grain", "weight": 0.8}, {"name": "ink-wash"}])
    assert made["loras"] == [{"name": "grain", "weight": 0.8}, {"name": "ink-wash", "weight": 1.0}]
    plain = api.completed(seed=made["seed"])
    assert plain["loras"] == []
    calls = api.generator.calls
    assert [lora.name for lora in calls[-2][0].parameters.loras] == ["grain", "ink-wash"]
    assert calls[-1][0].parameters.loras == ()
    assert api.request("GET", "/tokens/balance").json()["balance"] == 90


def test_without_a_lora_folder_none_is_offered(api: Api) -> None:
    assert api.request("GET", "/models/loras").json()["loras"] == []
    answer = api.request("POST", "/images/generate", json={"prompt": "a fox", "loras": [{"name": "grain"}]})
    assert answer.status_code == 400 and answer.json().get("allowed") is None
