"""Accounts and operators over HTTP: the account view, quotas per tier refused with what they
are, the operators' API (audited, invisible to everyone else), suspension, the review of
flagged images and the refund policy on cancel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from nexus_image.entrypoints.settings import Settings
from nexus_image.testing import ScriptedImageChecker

from .conftest import SECRET, Api, open_api, token, worker_beside

TIERS = (
    '{"free": {"weight": 1, "max_queued": 20, "images_per_day": 3, "images_per_month": 5, "retention_days": 30},'
    ' "pro": {"weight": 3, "max_queued": 20}, "tiny": {"max_queued": 20, "bytes_stored": 100}}'
)


@pytest.fixture
def accounts(tmp_path: Path) -> Iterator[Api]:
    settings = Settings(
        data_dir=tmp_path / "data", jwt_secret=SecretStr(SECRET), embedded_worker=False,
        welcome_tokens=1000, rate_limit_per_minute=1000, tiers=TIERS,
    )  # fmt: skip
    yield from open_api(settings)


def as_user(api: Api, method: str, path: str, user: str = "alice", **kwargs: Any) -> Any:
    claims = kwargs.pop("claims", {})
    headers = {"Authorization": f"Bearer {token(user, **claims)}", **kwargs.pop("headers", {})}
    return api.client.request(method, "/api/v1" + path, headers=headers, **kwargs)


def as_operator(api: Api, method: str, path: str, **kwargs: Any) -> Any:
    return as_user(api, method, path, "olga", claims={"role": ["staff", "admin"]}, **kwargs)


def generate(api: Api, user: str = "alice", tier: str | None = "free", **body: Any) -> Any:
    payload = {"prompt": "a red fox", "steps": 2, **body}
    return as_user(api, "POST", "/images/generate", user, json=payload, claims={"tier": tier})


def account(api: Api, user: str = "alice", tier: str | None = "free") -> dict[str, Any]:
    response = as_user(api, "GET", "/account", user, claims={"tier": tier})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


# --- the account view --------------------------------------------------------------------------


def test_the_account_shows_tier_balance_limits_and_usage(accounts: Api) -> None:
    fresh = account(accounts)
    assert fresh["tier"] == "free" and fresh["balance"] == 1000 and fresh["suspended"] is False
    assert fresh["limits"]["images_per_day"] == 3 and fresh["limits"]["retention_days"] == 30
    assert fresh["limits"]["bytes_stored"] is None  # no quota: null, not 0
    assert fresh["usage"] == {
        "images_today": 0,
        "images_this_month": 0,
        "bytes_stored": 0,
        "queued": 0,
        "running": 0,
    }

    created = generate(accounts, num_images=2).json()
    queued = account(accounts)
    assert queued["usage"]["queued"] == 2 and queued["usage"]["images_today"] == 2
    assert queued["balance"] == 1000 - 2 * created["tokens_cost"]
    day = {q["quota"]: q for q in queued["quotas"]}["images_per_day"]
    assert day["limit"] == 3 and day["used"] == 2 and day["remaining"] == 1
    assert datetime.fromisoformat(day["resets_at"]) > datetime.now(UTC)

    accounts.run_jobs()
    done = account(accounts)
    assert done["usage"]["queued"] == 0 and done["usage"]["bytes_stored"] > 0
    assert account(accounts, "bob")["usage"]["images_today"] == 0  # one's usage is nobody else's


# --- quotas ------------------------------------------------------------------------------------


def test_a_daily_quota_refuses_past_it_with_the_quota_its_reset_and_usage(accounts: Api) -> None:
    assert generate(accounts, num_images=2).status_code == 201
    balance = account(accounts)["balance"]
    too_many = generate(accounts, num_images=2)  # 2 + 2 > 3: the whole request is refused
    assert too_many.status_code == 429
    body = too_many.json()
    assert body["code"] == "quota_exceeded" and body["quota"] == "images_per_day"
    assert body["limit"] == 3 and body["used"] == 2 and body["tier"] == "free"
    assert int(too_many.headers["Retry-After"]) == body["retry_after"] > 0
    assert datetime.fromisoformat(body["resets_at"]) > datetime.now(UTC)
    assert account(accounts)["balance"] == balance  # nothing charged
    assert generate(accounts).status_code == 201  # one more fits exactly
    assert generate(accounts).status_code == 429
    assert generate(accounts, tier="pro").status_code == 201  # another tier, other quotas


def test_a_cancelled_image_gives_its_quota_back(accounts: Api) -> None:
    ids = [generate(accounts).json()["id"] for _ in range(3)]
    assert generate(accounts).status_code == 429
    assert as_user(accounts, "POST", f"/images/{ids[0]}/cancel").status_code == 200
    assert generate(accounts).status_code == 201


def test_a_storage_quota_refuses_once_full_with_403(accounts: Api) -> None:
    assert generate(accounts, tier="tiny").status_code == 201
    accounts.run_jobs()  # a stored image is far more than 100 bytes
    full = generate(accounts, tier="tiny")
    assert full.status_code == 403 and full.json()["quota"] == "bytes_stored"
    assert "resets_at" not in full.json() and "Retry-After" not in full.headers


# --- operators: who may ------------------------------------------------------------------------

OPERATOR_ROUTES = [
    ("GET", "/admin/queue"),
    ("POST", "/admin/queue/pause"),
    ("POST", "/admin/queue/resume"),
    ("POST", "/admin/jobs/x/cancel"),
    ("POST", "/admin/jobs/x/requeue"),
    ("GET", "/admin/users/bob"),
    ("GET", "/admin/users/bob/ledger"),
    ("POST", "/admin/users/bob/tokens"),
    ("POST", "/admin/users/bob/suspend"),
    ("POST", "/admin/users/bob/reinstate"),
    ("GET", "/admin/flagged"),
    ("GET", "/admin/flagged/x/content"),
    ("POST", "/admin/flagged/x/review"),
    ("GET", "/admin/workers"),
    ("POST", "/admin/users/bob/erase"),
    ("GET", "/admin/keys"),
]


def shape(response: Any) -> tuple[int, str, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["title"], body["detail"]


def test_operator_routes_answer_everyone_else_as_a_missing_route(accounts: Api) -> None:
    missing = shape(as_user(accounts, "GET", "/admin/no-such-route"))
    assert missing[0] == 404
    plain = token("alice")
    for method, path in OPERATOR_ROUTES:
        for headers in ({}, {"Authorization": f"Bearer {plain}"}, {"Authorization": "Bearer nonsense"}):
            response = accounts.client.request(method, "/api/v1" + path, headers=headers, json={})
            assert shape(response) == missing, (method, path, headers, response.text)
    wrong_methods = (
        ("DELETE", "/admin/queue"),
        ("PUT", "/admin/users/bob/suspend"),
        ("OPTIONS", "/admin/queue"),
    )
    for method, path in wrong_methods:
        assert shape(as_user(accounts, method, path)) == missing
    assert not [a for a in accounts.audit() if a[1].startswith(("operator.", "queue."))]


def test_a_service_key_with_the_admin_scope_is_an_operator(accounts: Api) -> None:
    made = as_operator(accounts, "POST", "/admin/keys", json={"name": "ops", "scopes": ["admin"]})
    assert made.status_code == 201, made.text
    headers = {"Authorization": f"Bearer {made.json()['token']}"}
    assert accounts.client.get("/api/v1/admin/queue", headers=headers).status_code == 200


# --- operators: what they do -------------------------------------------------------------------


def test_the_queue_by_tier_and_user_and_pause_resume(accounts: Api) -> None:
    generate(accounts, "alice", num_images=2)
    generate(accounts, "bob", tier="pro")
    queue = as_operator(accounts, "GET", "/admin/queue").json()
    users = {u["user_id"]: u for u in queue["users"]}
    assert users["alice"]["waiting"] == 2 and users["alice"]["tier"] == "free"
    assert users["bob"]["tier"] == "pro" and {t["name"] for t in queue["tiers"]} == {"free", "pro", "tiny"}
    paused = as_operator(accounts, "POST", "/admin/queue/pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert accounts.run_jobs() == []  # paused: nothing starts
    assert as_operator(accounts, "GET", "/admin/queue").json()["paused"] is True
    assert as_operator(accounts, "POST", "/admin/queue/resume").json()["paused"] is False
    assert sorted(accounts.run_jobs()) == ["COMPLETED"] * 3
    assert ("olga", "queue.pause", "queue", "success") in accounts.audit()


def test_an_operator_cancels_anyones_job_refunded_and_audited(accounts: Api) -> None:
    job = generate(accounts, "bob").json()
    before = account(accounts, "bob")["balance"]
    cancelled = as_operator(accounts, "POST", f"/admin/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["refunded_tokens"] == job["tokens_cost"]
    assert cancelled.json()["image"]["status"] == "CANCELLED"
    assert account(accounts, "bob")["balance"] == before + job["tokens_cost"]
    assert ("olga", "operator.job.cancel", job["id"], "success") in accounts.audit()
    again = as_operator(accounts, "POST", f"/admin/jobs/{job['id']}/cancel")
    assert again.status_code == 409
    assert ("olga", "operator.job.cancel", job["id"], "failed:conflict") in accounts.audit()
    assert as_operator(accounts, "POST", "/admin/jobs/nope/cancel").status_code == 404


def test_an_operator_requeues_a_job_handed_out_and_not_a_finished_one(accounts: Api) -> None:
    job = generate(accounts, "bob").json()
    accounts.worker.dispatcher.execute(room=8)  # handed to the workers
    requeued = as_operator(accounts, "POST", f"/admin/jobs/{job['id']}/requeue")
    assert requeued.status_code == 200 and requeued.json()["status"] == "QUEUED"
    # the message already sent is skipped; the job is dispatched again in its turn
    assert [o for o in accounts.run_jobs() if o != "SKIPPED"] == ["COMPLETED"]
    assert as_operator(accounts, "POST", f"/admin/jobs/{job['id']}/requeue").status_code == 409


def test_grant_and_take_tokens_with_a_reason_in_the_ledger(accounts: Api) -> None:
    start = account(accounts, "bob")["balance"]
    granted = as_operator(
        accounts, "POST", "/admin/users/bob/tokens", json={"amount": 50, "reason": "apology"}
    )
    assert granted.status_code == 200 and granted.json()["balance"] == start + 50
    taken = as_operator(accounts, "POST", "/admin/users/bob/tokens", json={"amount": -20, "reason": "abuse"})
    assert taken.json()["balance"] == start + 30
    too_much = as_operator(
        accounts, "POST", "/admin/users/bob/tokens", json={"amount": -(10**6), "reason": "x"}
    )
    assert too_much.status_code == 402 and account(accounts, "bob")["balance"] == start + 30
    for bad in ({"amount": 0, "reason": "x"}, {"amount": 5, "reason": "   "}, {"amount": 5}):
        refused = as_operator(accounts, "POST", "/admin/users/bob/tokens", json=bad)
        assert refused.status_code in (400, 422) and refused.json()["field"] in ("amount", "reason"), bad
    ledger = as_operator(accounts, "GET", "/admin/users/bob/ledger").json()
    assert [(e["kind"], e["amount"], e["reason"]) for e in ledger[:2]] == [
        ("DEBIT", -20, "abuse"),
        ("GRANT", 50, "apology"),
    ]
    assert ("olga", "operator.tokens.grant", "user:bob", "success") in accounts.audit()
    assert ("olga", "operator.tokens.take", "user:bob", "failed:insufficient_tokens") in accounts.audit()


def test_a_suspended_user_is_refused_everywhere_and_their_queue_refunded(accounts: Api) -> None:
    queued = generate(accounts, "bob", num_images=2).json()
    seen = as_operator(accounts, "GET", "/admin/users/bob").json()
    assert len(seen["active"]) == 2 and seen["account"]["usage"]["queued"] == 2
    suspended = as_operator(accounts, "POST", "/admin/users/bob/suspend", json={"reason": "spam"})
    assert suspended.status_code == 200 and suspended.json()["cancelled"] == 2
    for job in queued["images"]:
        assert accounts.request("GET", f"/images/{job['id']}", "alice").status_code == 404
    for method, path in (
        ("POST", "/images/generate"),
        ("GET", "/images/user/me"),
        ("GET", "/tokens/balance"),
    ):
        refused = as_user(accounts, method, path, "bob", json={"prompt": "a fox"})
        assert refused.status_code == 403 and refused.json()["code"] == "account_suspended", path
    mine = account(accounts, "bob")  # they still see why
    assert mine["suspended"] is True and mine["suspended_reason"] == "spam" and mine["balance"] == 1000
    assert generate(accounts, "alice").status_code == 201  # nobody else is
    assert as_operator(accounts, "POST", "/admin/users/bob/reinstate").json()["suspended"] is False
    assert generate(accounts, "bob").status_code == 201
    assert ("olga", "operator.user.suspend", "user:bob", "success") in accounts.audit()


def test_flagged_images_are_reviewed_hidden_released_or_deleted(accounts: Api) -> None:
    accounts.worker = worker_beside(
        accounts.app, accounts.generator, image_checker=ScriptedImageChecker(flag=True)
    )
    ids = [generate(accounts, "bob").json()["id"] for _ in range(3)]
    accounts.run_jobs()
    listed = as_operator(accounts, "GET", "/admin/flagged").json()
    assert [i["id"] for i in listed] == ids
    content = as_operator(accounts, "GET", f"/admin/flagged/{ids[0]}/content")
    assert content.status_code == 200 and content.content.startswith(b"\x89PNG")
    hide, release, drop = ids
    assert (
        as_operator(accounts, "POST", f"/admin/flagged/{hide}/review", json={"decision": "hide"}).status_code
        == 200
    )
    assert (
        as_operator(
            accounts, "POST", f"/admin/flagged/{release}/review", json={"decision": "release"}
        ).status_code
        == 200
    )
    deleted = as_operator(accounts, "POST", f"/admin/flagged/{drop}/review", json={"decision": "delete"})
    assert deleted.status_code == 200 and deleted.json()["image"] is None
    bad = as_operator(accounts, "POST", f"/admin/flagged/{hide}/review", json={"decision": "burn"})
    assert bad.status_code == 422 and bad.json()["allowed"] == ["hide", "release", "delete"]
    assert as_operator(accounts, "GET", "/admin/flagged").json() == []
    assert {i["id"] for i in as_operator(accounts, "GET", "/admin/flagged?reviewed=true").json()} == {
        hide,
        release,
    }
    assert accounts.request("GET", f"/images/{drop}", "bob").status_code == 404
    # released: its owner may publish it; hidden: not
    assert (
        accounts.request(
            "PATCH", f"/images/{release}/visibility", "bob", json={"is_public": True}
        ).status_code
        == 200
    )
    assert (
        accounts.request("PATCH", f"/images/{hide}/visibility", "bob", json={"is_public": True}).status_code
        == 409
    )
    assert ("olga", "operator.image.delete", drop, "success") in accounts.audit()


def test_the_workers_are_listed_with_their_models_and_heartbeat(accounts: Api) -> None:
    queue = accounts.container.manage_queue()
    queue.seat("gpu-1", 2, {"sd15": (0,)})
    workers = as_operator(accounts, "GET", "/admin/workers").json()
    found = {w["worker_id"]: w for w in workers}["gpu-1"]
    assert found["models"] == ["sd15"] and found["capacity"] == 2 and found["state"] == "active"
    assert datetime.fromisoformat(found["last_seen_at"]) <= datetime.now(UTC)


def test_an_operator_erases_a_user_with_a_running_job(accounts: Api) -> None:
    done = generate(accounts, "bob").json()
    accounts.run_jobs()
    running = generate(accounts, "bob").json()
    with accounts.container.uow_factory()() as uow:  # a worker has it
        job = uow.jobs.get(running["id"])
        assert job is not None
        job.start(datetime.now(UTC), "gpu-1", lease_until=datetime.now(UTC) + timedelta(minutes=5))
        uow.jobs.save(job)
        uow.commit()
    erased = as_operator(accounts, "POST", "/admin/users/bob/erase")
    assert erased.status_code == 200, erased.text
    body = erased.json()
    assert body["pseudonym"].startswith("erased-") and body["images"] == 2 and body["cancelled"] == 1
    for job_id in (done["id"], running["id"]):
        assert as_user(accounts, "GET", f"/images/{job_id}", "bob").status_code == 404
    # the worker that had it finds it gone, and stores nothing
    assert accounts.worker.process(running["id"]).status in ("SKIPPED", "CANCELLED")
    assert not [k for k in accounts.container.storage().keys("", 100) if "bob" in k]
    again = as_operator(accounts, "POST", "/admin/users/bob/erase")
    assert again.status_code == 200 and again.json()["images"] == 0
    actors = {a[0] for a in accounts.audit() if a[1] == "account.erase"}
    assert actors == {"olga"}
