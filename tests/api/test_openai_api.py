"""The OpenAI-compatible `/v1` routes on the embedded app: every refusal in OpenAI's error shape
with its conventions, the images answered once generated (or cancelled and refunded when the
wait is over), edits through the caller's uploads. The official SDK itself is the client in
tests/integration/test_openai_sdk.py."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from nexus_image.entrypoints.settings import Settings

from .conftest import Api, bearer, open_api
from .test_prefer_wait import finish_soon

V1 = "/v1"


def openai(api: Api, method: str, path: str, user: str | None = "alice", **kwargs: Any) -> Any:
    headers = {
        **({"Authorization": bearer(user)["Authorization"]} if user else {}),
        **kwargs.pop("headers", {}),
    }
    return api.client.request(method, V1 + path, headers=headers, **kwargs)


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    error: dict[str, Any] = body["error"]
    assert set(body) == {"error"} and set(error) == {"message", "type", "param", "code"}
    return error


def balance(api: Api, user: str = "alice") -> int:
    found: int = api.request("GET", "/tokens/balance", user).json()["balance"]
    return found


@pytest.fixture
def limited(settings: Settings) -> Iterator[Api]:
    yield from open_api(settings.model_copy(update={"rate_limit_per_minute": 1}))


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "kind", "code", "param"),
    [
        ("POST", "/images/generations", {"prompt": "a fox", "n": 5}, 400, "invalid_request_error", "invalid_request", "n"),
        ("POST", "/images/generations", {"prompt": "a fox", "size": "1536x1024"}, 400, "invalid_request_error", "unsupported_resolution", "size"),
        ("POST", "/images/generations", {"prompt": "a fox", "size": "big"}, 400, "invalid_request_error", "unsupported_resolution", "size"),
        ("POST", "/images/generations", {"prompt": "a fox", "stepz": 3}, 400, "invalid_request_error", "invalid_request", "stepz"),
        ("POST", "/images/generations", {"prompt": "a fox", "steps": 500}, 400, "invalid_request_error", "invalid_request", "steps"),
        ("POST", "/images/generations", {"prompt": "a fox", "style": "neon"}, 400, "invalid_request_error", "unknown_style", "style"),
        ("POST", "/images/generations", {"prompt": "n.u.d.e portrait"}, 400, "invalid_request_error", "content_policy_violation", "prompt"),
        ("GET", "/images/generations", None, 405, "invalid_request_error", "method_not_allowed", None),
        ("GET", "/nothing/here", None, 404, "invalid_request_error", "not_found", None),
        ("GET", "/models/dall-e-3", None, 404, "invalid_request_error", "model_not_found", None),
    ],
)  # fmt: skip
def test_refusals_come_in_openais_shape(
    api: Api, method: str, path: str, body: Any, status: int, kind: str, code: str, param: str | None
) -> None:
    error = error_of(openai(api, method, path, json=body), status)
    assert (error["type"], error["code"], error["param"]) == (kind, code, param)
    if param in ("size", "style"):
        assert "allowed: " in error["message"]  # the values to choose from
    assert api.request("GET", "/images/user/me").json()["total"] == 0  # nothing queued


def test_a_missing_or_bad_key_is_invalid_api_key(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = api.client.get(f"{V1}/models", headers=headers)
        assert error_of(response, 401)["code"] == "invalid_api_key"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_too_few_tokens_is_insufficient_quota_and_not_retried(api: Api) -> None:
    response = openai(
        api, "POST", "/images/generations", json={"prompt": "a fox", "n": 4, "size": "1024x1792"}
    )
    error = error_of(response, 429)
    assert (error["type"], error["code"]) == ("insufficient_quota", "insufficient_quota")
    assert "120 tokens required" in error["message"]
    assert response.headers["x-should-retry"] == "false"
    assert balance(api) == 100


def test_the_rate_limit_is_rate_limit_exceeded_with_retry_after(limited: Api) -> None:
    error_of(openai(limited, "POST", "/images/generations", json={"prompt": "n.u.d.e portrait"}), 400)
    response = openai(limited, "POST", "/images/generations", json={"prompt": "a fox"})
    error = error_of(response, 429)
    assert (error["type"], error["code"]) == ("requests", "rate_limit_exceeded")
    assert int(response.headers["Retry-After"]) >= 1


def test_generations_answer_the_pngs_with_our_own_fields_applied(api: Api) -> None:
    runner = finish_soon(api)
    response = openai(
        api,
        "POST",
        "/images/generations",
        json={"prompt": "a red fox", "n": 2, "size": "800x800", "style": "anime", "seed": 7, "steps": 2,
              "negative_prompt": "fog", "user": "chat-42", "model": "dall-e-3", "quality": "hd"},
    )  # fmt: skip
    runner.join()
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["size"] == "768x768" and len(body["data"]) == 2
    for item in body["data"]:
        with Image.open(io.BytesIO(base64.b64decode(item["b64_json"]))) as png:
            assert png.size == (768, 768)
        assert "a red fox" in item["revised_prompt"] and "url" not in item
    jobs = api.request("GET", "/images/user/me").json()["items"]  # a JWT's `user` is only a tag
    assert sorted((j["seed"], j["steps"], j["style"], j["negative_prompt"]) for j in jobs) == [
        (7, 2, "anime", "fog"),
        (8, 2, "anime", "fog"),
    ]
    assert balance(api) == 80


def test_urls_are_absolute_from_the_public_url(settings: Settings) -> None:
    for api in open_api(settings.model_copy(update={"public_url": "https://images.example.com"})):
        runner = finish_soon(api)
        response = openai(
            api, "POST", "/images/generations", json={"prompt": "a fox", "response_format": "url"}
        )
        runner.join()
        (item,) = response.json()["data"]
        job = api.request("GET", "/images/user/me").json()["items"][0]["id"]
        assert item["url"] == f"https://images.example.com/api/v1/images/{job}/file"


def test_images_not_ready_within_the_wait_are_cancelled_and_refunded(api: Api) -> None:
    response = openai(
        api, "POST", "/images/generations", json={"prompt": "a fox"}, headers={"Prefer": "wait=1"}
    )
    error = error_of(response, 504)
    assert (error["type"], error["code"]) == ("server_error", "generation_timeout")
    assert response.headers["Preference-Applied"] == "wait=1"
    assert response.headers["x-should-retry"] == "false"
    (job,) = api.request("GET", "/images/user/me").json()["items"]
    assert job["status"] == "CANCELLED"
    assert balance(api) == 100


def picture(mode: str = "RGB", color: Any = (40, 90, 200), size: tuple[int, int] = (96, 64)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format="PNG")
    return out.getvalue()


def transparent_square_mask() -> bytes:
    mask = Image.new("RGBA", (96, 64), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 32, 32))  # transparent: paint here
    out = io.BytesIO()
    mask.save(out, format="PNG")
    return out.getvalue()


def test_an_edit_with_a_mask_inpaints_through_uploads_it_removes_after(api: Api) -> None:
    runner = finish_soon(api)
    files = {
        "image": ("in.png", picture(), "image/png"),
        "mask": ("mask.png", transparent_square_mask(), "image/png"),
    }
    response = openai(
        api, "POST", "/images/edits", files=files, data={"prompt": "a boat", "steps": "2", "n": "1"}
    )
    runner.join()
    assert response.status_code == 200, response.text
    (job,) = api.request("GET", "/images/user/me").json()["items"]
    assert job["mask_image_id"] and job["init_image_id"] and job["strength"] == 1.0
    assert job["resolution"] == "512x512"  # `auto`: the nearest of the image's shape
    assert api.request("GET", "/uploads").json()["count"] == 0


def test_an_edit_with_a_mask_without_transparency_is_refused_and_leaves_no_upload(api: Api) -> None:
    files = {"image": ("in.png", picture(), "image/png"), "mask": ("mask.png", picture(), "image/png")}
    error = error_of(openai(api, "POST", "/images/edits", files=files, data={"prompt": "a boat"}), 400)
    assert (error["param"], error["code"]) == ("mask", "invalid_image")
    assert api.request("GET", "/uploads").json()["count"] == 0


def test_streaming_ends_with_the_completed_image(api: Api) -> None:
    runner = finish_soon(api)
    body = {"prompt": "a fox", "stream": True, "partial_images": 2, "steps": 2}
    with api.client.stream(
        "POST",
        f"{V1}/images/generations",
        json=body,
        headers={"Authorization": bearer("alice")["Authorization"]},
    ) as stream:
        assert stream.status_code == 200
        events = [
            json.loads(line.removeprefix("data: "))
            for line in stream.iter_lines()
            if line.startswith("data: ")
        ]
    runner.join()
    assert [e["type"] for e in events] == [
        "image_generation.completed"
    ]  # the test generator makes no previews
    assert base64.b64decode(events[0]["b64_json"]).startswith(b"\x89PNG")
