"""The fair queue over HTTP: a full queue is a 429 that charges nothing, the tier comes from the
token's claim, a deadline is checked, recorded and ends a late job EXPIRED with its refund."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from nexus_image.domain import GenerationExpired
from nexus_image.entrypoints.http.controllers.events import client_view
from nexus_image.entrypoints.settings import Settings

from .conftest import SECRET, Api, open_api, token

TIERS = '{"free": {"weight": 1, "max_queued": 3, "max_running": 1}, "pro": {"weight": 3, "max_queued": 8}}'


@pytest.fixture
def fair(tmp_path: Path) -> Iterator[Api]:
    settings = Settings(
        data_dir=tmp_path / "data", jwt_secret=SecretStr(SECRET), embedded_worker=False,
        welcome_tokens=1000, rate_limit_per_minute=100, tiers=TIERS,
    )  # fmt: skip
    yield from open_api(settings)


def generate(api: Api, tier: str | None = None, user: str = "alice", **body: Any) -> Any:
    headers = {"Authorization": f"Bearer {token(user, tier=tier)}"}
    payload = {"prompt": "a red fox", "steps": 2, **body}
    return api.client.post("/api/v1/images/generate", json=payload, headers=headers)


def balance(api: Api, user: str = "alice") -> int:
    found: int = api.request("GET", "/tokens/balance", user).json()["balance"]
    return found


def test_a_full_queue_answers_429_with_the_cap_and_charges_nothing(fair: Api) -> None:
    assert generate(fair, num_images=3).status_code == 201
    before = balance(fair)
    refused = generate(fair, num_images=1)
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "user_queue_full" and body["field"] == "num_images"
    assert (body["tier"], body["max_queued"], body["queued"]) == ("free", 3, 3)
    assert int(refused.headers["Retry-After"]) == body["retry_after"] >= 1
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert balance(fair) == before
    assert fair.request("GET", "/images/user/me").json()["total"] == 3
    assert generate(fair, user="bob").status_code == 201  # another user's queue is theirs


def test_the_tier_named_by_the_token_sets_the_caps(fair: Api) -> None:
    assert generate(fair, "pro", num_images=4).status_code == 201
    assert generate(fair, "pro", num_images=4).status_code == 201  # pro queues up to 8
    assert generate(fair, "pro", num_images=1).json()["max_queued"] == 8
    too_many = generate(fair, "gold", user="carol", num_images=4)  # unknown tier: the default, free
    assert too_many.status_code == 422 and too_many.json()["field"] == "num_images"
    assert "free tier queues at most 3" in too_many.json()["detail"]  # never possible: not a 429
    with fair.app.service.deps.uow_factory() as uow:
        tiers = {job.tier for job in uow.jobs.list_by_user("alice", 0, 20).items}
    assert tiers == {"pro"}


def test_a_deadline_is_checked_and_recorded(fair: Api) -> None:
    for wrong in (0, 86_401, "soon", 1.5):
        refused = generate(fair, deadline_seconds=wrong)
        assert refused.status_code in (400, 422), refused.text
        assert refused.json()["field"] == "deadline_seconds"
    created = generate(fair, deadline_seconds=30).json()
    made = datetime.fromisoformat(created["created_at"])
    assert datetime.fromisoformat(created["deadline_at"]) - made == timedelta(seconds=30)
    assert generate(fair, user="bob").json()["deadline_at"] is None


def test_a_job_past_its_deadline_ends_expired_refunded_and_never_started(fair: Api) -> None:
    before = balance(fair)
    job = generate(fair, deadline_seconds=1).json()
    assert balance(fair) == before - job["tokens_cost"]
    time.sleep(1.1)
    assert fair.run_jobs() == []  # the scheduler expired it instead of dispatching it
    shown = fair.request("GET", f"/images/{job['id']}").json()
    assert shown["status"] == "EXPIRED" and shown["started_at"] is None
    assert balance(fair) == before
    cancel = fair.request("POST", f"/images/{job['id']}/cancel")
    assert cancel.status_code == 409  # finished: nothing to cancel


def test_an_expiry_reaches_live_watchers_as_an_expired_event() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    event = GenerationExpired(event_id="e", job_id="j", user_id="u", occurred_at=at, refunded=5)
    view = client_view(event)
    assert view is not None
    name, body, event_id = view
    assert (name, body["status"], body["refunded"], event_id) == ("expired", "EXPIRED", 5, "e")
