"""Generating and following images over HTTP: every endpoint of /images, and its error codes."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from PIL import Image

from .conftest import Api


def test_generate_answers_201_with_the_queued_job_and_charges_its_price(api: Api) -> None:
    response = api.request(
        "POST",
        "/images/generate",
        json={
            "prompt": "A majestic dragon",
            "negative_prompt": "blurry",
            "style": "anime",
            "resolution": "768x768",
            "seed": 42,
            "steps": 3,
            "guidance": 6.5,
            "scheduler": "euler_a",
            "companion_id": "comp-123",
            "is_public": True,
        },
    )
    assert response.status_code == 201
    job = response.json()
    assert response.headers["location"] == f"/api/v1/images/{job['id']}"
    assert (job["user_id"], job["status"], job["tokens_cost"]) == ("alice", "QUEUED", 10)
    assert (job["style"], job["resolution"], job["seed"], job["steps"]) == ("anime", "768x768", 42, 3)
    assert (job["scheduler"], job["companion_id"], job["is_public"]) == ("euler_a", "comp-123", True)
    assert job["created_at"].endswith("Z") and datetime.fromisoformat(job["created_at"])
    assert job["storage_url"] is None and job["completed_at"] is None
    assert api.request("GET", "/tokens/balance").json() == {"user_id": "alice", "balance": 90}
    assert api.audit() == [("alice", "image.generate", job["id"], "success")]


def test_a_completed_image_is_downloadable_through_the_api(api: Api) -> None:
    job = api.generate(seed=7)
    assert api.run_jobs() == ["COMPLETED"]
    image = api.request("GET", f"/images/{job['id']}").json()
    assert image["status"] == "COMPLETED" and image["completed_at"].endswith("Z")
    base = f"/api/v1/images/{job['id']}"  # relative: never built from the Host header
    assert (image["storage_url"], image["thumbnail_url"]) == (f"{base}/file", f"{base}/thumbnail")
    png = api.request("GET", f"/images/{job['id']}/file")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(png.content)) as picture:
        assert picture.size == (512, 512)
        assert picture.text["seed"] == "7"  # type: ignore[attr-defined]
    thumb = api.request("GET", f"/images/{job['id']}/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(thumb.content)) as small:
        assert max(small.size) == 256


def test_files_of_an_unfinished_image_are_404(api: Api) -> None:
    job = api.generate()
    response = api.request("GET", f"/images/{job['id']}/file")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_my_images_are_paginated_newest_first_with_a_total(api: Api) -> None:
    ids = [api.generate(seed=i)["id"] for i in range(3)]
    api.generate(user="bob")
    first = api.request("GET", "/images/user/me", params={"page": 0, "size": 2}).json()
    assert (first["total"], first["page"], first["size"]) == (3, 0, 2)
    second = api.request("GET", "/images/user/me", params={"page": 1, "size": 2}).json()
    listed = [i["id"] for i in first["items"] + second["items"]]
    assert sorted(listed) == sorted(ids) and len(second["items"]) == 1


@pytest.mark.parametrize(
    ("params", "field"), [({"size": 101}, "size"), ({"size": 0}, "size"), ({"page": -1}, "page")]
)
def test_page_bounds_are_400_naming_the_parameter(api: Api, params: dict[str, int], field: str) -> None:
    response = api.request("GET", "/images/user/me", params=params)
    assert response.status_code == 400 and response.json()["field"] == field


def test_idempotency_key_gives_the_same_job_once_and_refuses_another_body(api: Api) -> None:
    headers = {"Idempotency-Key": "order-1"}
    first = api.request("POST", "/images/generate", json={"prompt": "a fox"}, headers=headers)
    again = api.request("POST", "/images/generate", json={"prompt": "a fox"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert api.request("GET", "/tokens/balance").json()["balance"] == 95
    other = api.request("POST", "/images/generate", json={"prompt": "a cat"}, headers=headers)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"


def test_cancel_refunds_and_a_finished_job_cannot_be_cancelled(api: Api) -> None:
    job = api.generate()
    cancelled = api.request("POST", f"/images/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    assert api.request("GET", "/tokens/balance").json()["balance"] == 100
    again = api.request("POST", f"/images/{job['id']}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert api.audit()[-1] == ("alice", "image.cancel", job["id"], "failed:conflict")


def test_delete_removes_the_image_and_its_files(api: Api) -> None:
    image = api.completed()
    assert api.request("DELETE", f"/images/{image['id']}").status_code == 204
    assert api.request("GET", f"/images/{image['id']}").status_code == 404
    assert api.request("GET", f"/images/{image['id']}/file").status_code == 404
    assert api.request("DELETE", f"/images/{image['id']}").status_code == 404


def test_deleting_a_queued_job_refunds_it(api: Api) -> None:
    job = api.generate(resolution="1024x1024")
    assert api.request("DELETE", f"/images/{job['id']}").status_code == 204
    assert api.request("GET", "/tokens/balance").json()["balance"] == 100


def test_unknown_image_is_404_problem(api: Api) -> None:
    response = api.request("GET", "/images/no-such-id")
    body = response.json()
    assert response.status_code == 404
    assert body["type"] == "urn:nexus-image:problem:not-found"
    assert (body["title"], body["status"], body["code"]) == ("Not Found", 404, "not_found")
    assert body["detail"] == "image no-such-id not found"
    assert body["instance"] == "/api/v1/images/no-such-id"
