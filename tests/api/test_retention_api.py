"""Retention over HTTP: each image says when it expires; once its files are removed it still
answers (status as it was, `data_removed_at`, no URLs), its files answer 410 Gone, and listings
leave it out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from nexus_image.application.retention import ApplyRetention
from nexus_image.entrypoints.settings import Settings
from nexus_image.testing import ManualClock

from .conftest import SECRET, Api, open_api, token


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    settings = Settings(
        data_dir=tmp_path / "data",
        jwt_secret=SecretStr(SECRET),
        embedded_worker=False,
        welcome_tokens=100,
        tiers='{"free": {"retention_days": 7}, "pro": {}}',
    )
    yield from open_api(settings)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def retention_in(api: Api, days: int) -> ApplyRetention:
    """The app's own retention, run as if `days` days had passed."""
    use_case: ApplyRetention = api.container.apply_retention()
    return replace(use_case, clock=ManualClock(datetime.now().astimezone() + timedelta(days=days)))


def test_an_image_shows_its_expiry_and_after_removal_answers_without_files(api: Api) -> None:
    created = api.generate()
    assert moment(created["expires_at"]) - moment(created["created_at"]) == timedelta(days=7)
    assert created["data_removed_at"] is None
    image = api.completed()
    kept = api.completed()
    assert api.request("PUT", f"/images/{kept['id']}/favorite").status_code == 204
    assert image["expires_at"] is not None and image["storage_url"]

    report = retention_in(api, 8).execute()
    assert report.images == 2 and created["id"] in report.sample and image["id"] in report.sample

    answer = api.request("GET", f"/images/{image['id']}")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "COMPLETED" and body["data_removed_at"] is not None
    assert body["storage_url"] is None and body["thumbnail_url"] is None
    assert body["expires_at"] == image["expires_at"]
    for part in ("file", "thumbnail"):
        gone = api.request("GET", f"/images/{image['id']}/{part}")
        assert gone.status_code == 410, gone.text
        problem = gone.json()
        assert problem["code"] == "image_data_removed" and "removed on" in problem["detail"]
    assert api.request("PUT", f"/images/{image['id']}/favorite").status_code == 410
    album = api.request("POST", "/albums", json={"name": "later"}).json()
    assert api.request("PUT", f"/albums/{album['id']}/images/{image['id']}").status_code == 410
    listed = api.request("GET", "/images/user/me").json()
    assert [item["id"] for item in listed["items"]] == [kept["id"]] and listed["total"] == 1
    assert api.request("GET", f"/images/{kept['id']}/file").status_code == 200
    # Another user still cannot tell it exists.
    assert api.request("GET", f"/images/{image['id']}/file", user="mallory").status_code == 404


def test_a_forever_tier_has_no_expiry(api: Api) -> None:
    pro = {"Authorization": f"Bearer {token('carol', tier='pro')}"}
    created = api.request("POST", "/images/generate", None, headers=pro, json={"prompt": "a fox", "steps": 2})
    assert created.status_code == 201, created.text
    assert created.json()["expires_at"] is None
    api.run_jobs()
    assert api.request("GET", f"/images/{created.json()['id']}", "carol").json()["expires_at"] is None
    assert retention_in(api, 3650).execute().images == 0
