"""Several images per request (`num_images`) and variation parameters over HTTP: one job per
image with consecutive seeds and one group, all charged or none, the same group again for a
replayed Idempotency-Key, and the fields refused with their names."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from nexus_image.application.dto import GenerateImage
from nexus_image.domain.errors import InsufficientTokens
from nexus_image.domain.parameters import MAX_SEED
from nexus_image.entrypoints.composition import compose
from nexus_image.entrypoints.settings import Settings
from nexus_image.testing import MemoryStore

from .conftest import Api


def balance(api: Api, user: str = "alice") -> int:
    found: int = api.request("GET", "/tokens/balance", user).json()["balance"]
    return found


def test_four_images_are_four_jobs_with_consecutive_seeds_in_one_group(api: Api) -> None:
    created = api.generate(num_images=4, seed=MAX_SEED - 1)
    images = created["images"]
    assert [i["seed"] for i in images] == [MAX_SEED - 1, MAX_SEED, 0, 1]  # wrapping past the largest
    assert created["id"] == images[0]["id"] and len({i["id"] for i in images}) == 4
    group = created["group_id"]
    assert group and all(i["group_id"] == group for i in images)
    assert balance(api) == 100 - 4 * 5
    assert api.run_jobs() == ["COMPLETED"] * 4
    for image in images:
        shown = api.request("GET", f"/images/{image['id']}").json()
        assert shown["status"] == "COMPLETED" and shown["group_id"] == group
    assert api.request("GET", "/images/user/me").json()["total"] == 4


def test_one_image_has_no_group_and_lists_itself(api: Api) -> None:
    created = api.generate()
    assert created["group_id"] is None and [i["id"] for i in created["images"]] == [created["id"]]


def test_not_enough_tokens_for_all_charges_none(api: Api) -> None:
    api.generate(resolution="1024x1536", num_images=3)  # 90 of 100
    refused = api.request("POST", "/images/generate", json={"prompt": "a fox", "num_images": 3})
    assert refused.status_code == 402 and (refused.json()["required"], refused.json()["balance"]) == (15, 10)
    assert balance(api) == 10 and api.request("GET", "/images/user/me").json()["total"] == 3


def test_a_replayed_key_gives_the_same_group_charged_once(api: Api) -> None:
    headers = {"Idempotency-Key": "batch-1"}
    body = {"prompt": "a fox", "num_images": 2, "seed": 5}
    first = api.request("POST", "/images/generate", json=body, headers=headers).json()
    again = api.request("POST", "/images/generate", json=body, headers=headers).json()
    assert [i["id"] for i in again["images"]] == [i["id"] for i in first["images"]]
    assert balance(api) == 90


def test_bad_counts_and_variations_are_refused_naming_the_field(api: Api) -> None:
    for body, field in (
        ({"num_images": 0}, "num_images"),
        ({"num_images": 5}, "num_images"),
        ({"variation_strength": 1.5, "variation_seed": 3}, "variation_strength"),
        ({"variation_seed": -1}, "variation_seed"),
    ):
        answer = api.request("POST", "/images/generate", json={"prompt": "a fox", **body})
        assert answer.status_code == 400 and answer.json()["field"] == field, answer.text
    missing = api.request("POST", "/images/generate", json={"prompt": "a fox", "variation_strength": 0.3})
    assert missing.status_code == 422 and missing.json()["field"] == "variation_seed"
    assert balance(api) == 100


def test_a_variation_is_recorded_on_the_job_and_in_the_png(api: Api) -> None:
    created = api.generate(seed=11, variation_seed=12, variation_strength=0.25)
    assert (created["variation_seed"], created["variation_strength"]) == (12, 0.25)
    api.run_jobs()
    png = api.request("GET", f"/images/{created['id']}/file").content
    from nexus_image.adapters.imaging import read_png_metadata

    chunks = read_png_metadata(png)
    assert chunks["variation_seed"] == "12" and chunks["variation_strength"] == "0.25"
    plain = api.generate(seed=11, variation_seed=12, variation_strength=0)
    assert (plain["variation_seed"], plain["variation_strength"]) == (None, 0.0)  # no variation


def test_concurrent_requests_for_several_images_are_charged_all_or_none(tmp_path: Path) -> None:
    """Eight threads each ask for four images (20 tokens) from 50 tokens: two succeed whole."""
    store = MemoryStore()
    settings = Settings(data_dir=tmp_path, welcome_tokens=50)
    service = compose("memory", settings, uow_factory=store.unit_of_work).service
    outcomes: list[Any] = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        try:
            views, _ = service.request.submit(GenerateImage(user_id="ann", prompt="a fox", num_images=4))
            outcomes.append(len(views))
        except InsufficientTokens:
            outcomes.append(0)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == [0] * 6 + [4] * 2
    assert service.tokens.balance("ann").balance == 10 and len(store.jobs) == 8


@pytest.mark.parametrize("deleted", [0, 1])
def test_a_replayed_key_answers_the_whole_request_or_is_spent_once_any_image_was_deleted(
    api: Api, deleted: int
) -> None:
    """One rule for one image or several: a replay repeats the answer while every image of the
    request exists; once one was deleted (the first, which names the group, or another) the key
    is spent, 409, and nothing is charged."""
    headers = {"Idempotency-Key": f"batch-{deleted}"}
    body = {"prompt": "a fox", "num_images": 3, "seed": 5}
    first = api.request("POST", "/images/generate", json=body, headers=headers).json()
    ids = [i["id"] for i in first["images"]]
    again = api.request("POST", "/images/generate", json=body, headers=headers)
    assert again.status_code == 201 and [i["id"] for i in again.json()["images"]] == ids
    assert api.request("DELETE", f"/images/{ids[deleted]}").status_code == 204
    spent = api.request("POST", "/images/generate", json=body, headers=headers)
    assert spent.status_code == 409 and spent.json()["code"] == "idempotency_key_spent"
    assert "1 of which" in spent.json()["detail"]
    assert balance(api) == 100 - 2 * 5  # charged once for three, one refunded by its delete, nothing more
