"""The generation rate limit over HTTP, on the real limiter with a manual clock: what counts
(generate requests, pre-checks, refused prompts), what does not (refused for the balance,
idempotent replays, refused by the limit), a Retry-After that is exactly when a slot opens, and
a generate request that is one transaction, rate-limit check included."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from pydantic import SecretStr

from nexus_image.entrypoints.composition import http_app
from nexus_image.entrypoints.settings import Settings
from nexus_image.testing import PatternGenerator

from .conftest import SECRET, Api, CountingStore, build_app

LIMIT = 3


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.at, UTC)


class Limited:
    def __init__(self, api: Api, clock: Clock) -> None:
        self.api = api
        self.clock = clock

    def generate(self, user: str = "alice", key: str | None = None, **body: Any) -> Any:
        headers = {"Idempotency-Key": key} if key else {}
        payload = {"prompt": "a red fox", "steps": 3, **body}
        return self.api.request("POST", "/images/generate", user, json=payload, headers=headers)

    def check(self, user: str = "alice", prompt: str = "a cat") -> Any:
        return self.api.request("POST", "/moderation/check", user, json={"prompt": prompt})


def open_limited(tmp_path: Path, welcome_tokens: int) -> Iterator[Limited]:
    settings = Settings(
        data_dir=tmp_path / "data", jwt_secret=SecretStr(SECRET), embedded_worker=False,
        welcome_tokens=welcome_tokens, rate_limit_per_minute=LIMIT,
    )  # fmt: skip
    clock = Clock(50_000.0)
    db = CountingStore()
    app = build_app(settings, db, clock=clock)
    with TestClient(http_app(app)) as client:
        yield Limited(Api(client, app, db, PatternGenerator(), settings), clock)


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Limited]:
    yield from open_limited(tmp_path, welcome_tokens=100)


@pytest.fixture
def poor(tmp_path: Path) -> Iterator[Limited]:
    yield from open_limited(tmp_path, welcome_tokens=5)  # one 512x512 image


def test_requests_refused_for_the_balance_do_not_consume_the_limit(poor: Limited) -> None:
    assert poor.generate().status_code == 201
    for _ in range(LIMIT + 2):
        refused = poor.generate()
        assert refused.status_code == 402 and refused.json()["code"] == "insufficient_tokens"
    for _ in range(LIMIT - 1):  # the one image took one slot; the 402s took none
        assert poor.check().status_code == 200
    assert poor.check().status_code == 429
    assert poor.generate().status_code == 429
    audited = [a for a in poor.api.audit() if a[1] == "image.generate"]
    assert [a[3] for a in audited].count("failed:insufficient_tokens") == LIMIT + 2  # still audited


def test_idempotent_replays_do_not_consume_the_limit(limited: Limited) -> None:
    first = limited.generate(key="order-1")
    assert first.status_code == 201
    for _ in range(LIMIT + 2):
        again = limited.generate(key="order-1")
        assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert limited.generate(key="order-2").status_code == 201
    assert limited.generate().status_code == 201
    refused = limited.generate(key="order-3")
    assert refused.status_code == 429
    assert limited.api.request("GET", "/images/user/me").json()["total"] == 3
    assert limited.api.request("GET", "/tokens/balance").json()["balance"] == 85


def test_retry_after_is_the_ceiling_of_the_real_wait(limited: Limited) -> None:
    clock = limited.clock
    assert limited.generate().status_code == 201  # at 50 000.0: leaves the window at 50 060.0
    clock.at = 50_012.4
    assert limited.check().status_code == 200
    clock.at = 50_020.0
    assert limited.generate().status_code == 201
    clock.at = 50_030.2
    refused = limited.generate()
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert refused.headers["retry-after"] == "30"  # ceil(50 060.0 - 50 030.2 = 29.8)
    assert refused.json()["retry_after"] == 30
    assert limited.generate().headers["retry-after"] == "30"  # refusals are not counted
    clock.at = 50_030.2 + 29  # a second early: 0.8 s to go
    early = limited.check()
    assert early.status_code == 429 and early.headers["retry-after"] == "1"
    clock.at = 50_030.2 + 30  # when Retry-After said
    assert limited.generate().status_code == 201
    later = limited.generate()
    assert later.status_code == 429
    assert later.headers["retry-after"] == "13"  # the pre-check at 50 012.4 leaves at 50 072.4
    assert limited.generate(user="bob").status_code == 201  # per user


def test_refused_prompts_count_and_past_the_limit_are_answered_as_over_it(limited: Limited) -> None:
    refused = limited.generate(prompt="a n.u.d.e portrait")
    assert refused.status_code == 422 and refused.json()["code"] == "prompt_rejected"
    assert limited.generate().status_code == 201
    assert limited.check().status_code == 200  # three hits: the refusal counted
    probe = limited.generate(prompt="a n.u.d.e portrait")
    assert probe.status_code == 429 and "category" not in probe.json()  # the verdict is not given
    assert limited.generate().status_code == 429
    assert limited.api.request("GET", "/tokens/balance").json()["balance"] == 95  # one image


def test_an_accepted_request_is_one_transaction(limited: Limited) -> None:
    assert limited.generate(prompt="warm-up").status_code == 201  # the account is opened
    db = limited.api.db
    before = db.opened
    assert limited.generate(prompt="a lighthouse at dusk").status_code == 201
    assert db.opened - before == 1  # rate limit, job, charge, outbox, audit: one unit of work
    entries = [a for a in limited.api.audit() if a[1] == "image.generate"]
    assert [a[3] for a in entries] == ["success", "success"]
