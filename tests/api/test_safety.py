"""Safety over HTTP: the output check run by the worker gates the public gallery (and, when
told, withholds the image and refunds it); the moderation pre-check; refusals audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nexus_image.adapters.safety import nudenet_available
from nexus_image.entrypoints.settings import Settings
from nexus_image.testing import ScriptedImageChecker

from .conftest import Api, open_api, worker_beside


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def with_checker(api: Api, checker: ScriptedImageChecker) -> Api:
    api.worker = worker_beside(api.app, api.generator, image_checker=checker)
    return api


def gallery_ids(api: Api, user: str = "bob") -> list[str]:
    return [item["id"] for item in api.request("GET", "/images/public", user).json()["items"]]


@pytest.fixture
def blocking(settings: Settings) -> Iterator[Api]:
    yield from open_api(settings.model_copy(update={"block_unsafe_outputs": True}))


def test_a_flagged_image_is_kept_private_even_when_asked_public(api: Api) -> None:
    checker = ScriptedImageChecker(flag=True, score=0.91, labels=("FEMALE_GENITALIA_EXPOSED",))
    image = with_checker(api, checker).completed(is_public=True)
    assert checker.checked == 1
    assert image["is_public"] is False
    assert image["safety"] == {
        "flagged": True,
        "score": 0.91,
        "labels": ["FEMALE_GENITALIA_EXPOSED"],
        "checker": "scripted",
    }
    assert image["id"] not in gallery_ids(api)
    assert api.request("GET", f"/images/{image['id']}", "bob").status_code == 404
    # the owner still has it
    assert api.request("GET", f"/images/{image['id']}/file").status_code == 200


def test_a_flagged_image_cannot_be_made_public(api: Api) -> None:
    image = with_checker(api, ScriptedImageChecker(flag=True)).completed()
    found = problem(api.request("PATCH", f"/images/{image['id']}/visibility", json={"is_public": True}), 409)
    assert found["code"] == "unsafe_image"
    assert "FEMALE_BREAST_EXPOSED" in found["reason"] and found["field"] == "is_public"
    assert api.request("GET", f"/images/{image['id']}").json()["is_public"] is False
    assert image["id"] not in gallery_ids(api)
    # making it private again is always allowed
    assert (
        api.request("PATCH", f"/images/{image['id']}/visibility", json={"is_public": False}).status_code
        == 200
    )
    assert ("alice", "image.publish", image["id"], "failed:unsafe_image") in api.audit()


def test_a_clean_image_goes_public_and_shows_in_the_gallery(api: Api) -> None:
    image = with_checker(api, ScriptedImageChecker(flag=False)).completed(is_public=True)
    assert image["is_public"] is True and image["safety"]["flagged"] is False
    assert image["id"] in gallery_ids(api)


def test_blocking_withholds_a_flagged_image_and_refunds_it(blocking: Api) -> None:
    api = with_checker(blocking, ScriptedImageChecker(flag=True))
    created = api.generate(is_public=True)
    assert api.request("GET", "/tokens/balance").json()["balance"] == 100 - created["tokens_cost"]
    assert api.run_jobs() == ["FAILED"]
    image = api.request("GET", f"/images/{created['id']}").json()
    assert image["status"] == "FAILED"
    assert image["failure_reason"].startswith("unsafe_output")
    assert image["storage_url"] is None
    assert api.request("GET", f"/images/{created['id']}/file").status_code == 404
    assert api.request("GET", "/tokens/balance").json()["balance"] == 100
    assert not list(api.settings.files_dir.rglob("*.png"))  # nothing of it was stored


def test_blocking_lets_clean_images_through(blocking: Api) -> None:
    image = with_checker(blocking, ScriptedImageChecker(flag=False)).completed()
    assert image["status"] == "COMPLETED"


def test_a_broken_checker_fails_the_job_with_a_refund_rather_than_deliver_unchecked(api: Api) -> None:
    with_checker(api, ScriptedImageChecker(fail=RuntimeError("detector crashed")))
    created = api.generate()
    assert api.run_jobs() == ["FAILED"]
    image = api.request("GET", f"/images/{created['id']}").json()
    assert "output check failed" in image["failure_reason"]
    assert api.request("GET", "/tokens/balance").json()["balance"] == 100


def test_the_worker_runs_the_real_output_check_by_default(api: Api) -> None:
    assert nudenet_available(), "the test command installs the safety extra"
    image = api.completed(is_public=True)
    assert image["safety"]["checker"] == "nudenet"
    assert image["safety"]["flagged"] is False
    assert image["is_public"] is True and image["id"] in gallery_ids(api)


# --- the moderation pre-check ------------------------------------------------------------------


def check(api: Api, prompt: str, user: str | None = "alice") -> Any:
    return api.request("POST", "/moderation/check", user, json={"prompt": prompt})


def test_the_pre_check_says_allowed_or_the_category_and_layer(api: Api) -> None:
    allowed = check(api, "a red fox in the snow")
    assert allowed.status_code == 200
    assert allowed.json() == {"allowed": True, "category": None, "layer": None}
    refused = check(api, "a 12 year old in lingerie").json()
    assert refused == {"allowed": False, "category": "minors", "layer": "rules"}
    assert check(api, "n.u.d.e portrait").json()["category"] == "sexual"


def test_the_pre_check_is_free_audited_and_authenticated(api: Api) -> None:
    check(api, "gore, decapitated body")
    assert api.request("GET", "/tokens/balance").json()["balance"] == 100
    assert ("alice", "moderation.refused", "check", "refused:violence") in api.audit()
    assert check(api, "a cat", user=None).status_code == 401
    assert problem(api.request("POST", "/moderation/check", json={}), 400)["code"] == "invalid_request"


def test_the_pre_check_counts_against_the_generation_rate_limit(api: Api) -> None:
    limit = api.settings.rate_limit_per_minute
    for _ in range(limit):
        assert check(api, "a cat").status_code == 200
    limited = problem(check(api, "a cat"), 429)
    assert int(limited["retry_after"]) >= 1
    problem(api.request("POST", "/images/generate", json={"prompt": "a cat"}), 429)
    assert check(api, "a cat", user="bob").status_code == 200  # per user


def test_refusals_and_checks_are_counted_on_metrics(api: Api) -> None:
    check(api, "gore, decapitated body")
    problem(api.request("POST", "/images/generate", json={"prompt": "n.u.d.e portrait"}), 422)
    with_checker(api, ScriptedImageChecker(flag=True, score=0.75)).completed()
    text = api.client.get("/metrics").text
    assert 'moderation_refusals_total{category="violence",layer="rules"} 1.0' in text
    assert 'moderation_refusals_total{category="sexual",layer="rules"} 1.0' in text
    assert 'image_safety_checks_total{checker="scripted",outcome="flagged"} 1.0' in text
    assert 'image_safety_score_bucket{checker="scripted",le="0.8"} 1.0' in text
    assert 'image_safety_score_bucket{checker="scripted",le="0.7"} 0.0' in text
