"""The webhook routes: endpoints and secrets, a request's webhook_url checked before anything
is charged, the delivery log and replay; another user's things answer like missing ones."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api


def test_endpoints_are_made_listed_changed_rotated_and_removed(api: Api) -> None:
    made = api.request(
        "POST",
        "/webhooks/endpoints",
        json={
            "url": "https://platform.example/hooks",
            "events": ["generation.completed"],
            "description": "chat",
        },
    )
    assert made.status_code == 201, made.text
    endpoint = made.json()
    assert endpoint["secret"].startswith("whsec_") and endpoint["events"] == ["generation.completed"]
    listed = api.request("GET", "/webhooks/endpoints").json()
    assert [e["id"] for e in listed] == [endpoint["id"]] and listed[0]["secret"] is None
    changed = api.request("PATCH", f"/webhooks/endpoints/{endpoint['id']}", json={"enabled": False})
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    rotated = api.request("POST", f"/webhooks/endpoints/{endpoint['id']}/rotate-secret").json()
    assert rotated["previous_secret"] == endpoint["secret"] and rotated["secret"] != endpoint["secret"]
    assert rotated["previous_valid_until"] is not None
    assert api.request("GET", f"/webhooks/endpoints/{endpoint['id']}/secret").json() == rotated
    assert api.request("DELETE", f"/webhooks/endpoints/{endpoint['id']}").status_code == 204
    assert api.request("GET", f"/webhooks/endpoints/{endpoint['id']}").status_code == 404


def test_another_users_endpoint_answers_like_a_missing_one(api: Api) -> None:
    endpoint = api.request("POST", "/webhooks/endpoints", json={"url": "https://a.example/h"}).json()
    missing = api.request("GET", "/webhooks/endpoints/nope", "bob")
    for method, path in (
        ("GET", f"/webhooks/endpoints/{endpoint['id']}"),
        ("PATCH", f"/webhooks/endpoints/{endpoint['id']}"),
        ("DELETE", f"/webhooks/endpoints/{endpoint['id']}"),
        ("GET", f"/webhooks/endpoints/{endpoint['id']}/secret"),
        ("GET", f"/webhooks/endpoints/{endpoint['id']}/deliveries"),
    ):
        kwargs: dict[str, Any] = {"json": {}} if method == "PATCH" else {}
        answer = api.request(method, path, "bob", **kwargs)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["code"] == missing.json()["code"]
    assert api.request("GET", "/webhooks/endpoints", "bob").json() == []


def test_bad_destinations_are_refused_with_the_field_and_nothing_is_charged(api: Api) -> None:
    before = api.request("GET", "/tokens/balance").json()
    for url in ("http://127.0.0.1:8080/h", "http://169.254.169.254/latest/meta-data", "ftp://a.example/x"):
        refused = api.request("POST", "/images/generate", json={"prompt": "a fox", "webhook_url": url})
        assert refused.status_code in (400, 422), refused.text
        assert "webhook_url" in refused.text
        endpoint = api.request("POST", "/webhooks/endpoints", json={"url": url})
        assert endpoint.status_code in (400, 422) and "url" in endpoint.text
    unknown = api.request(
        "POST",
        "/images/generate",
        json={"prompt": "a fox", "webhook_url": "https://a.example/", "webhook_events": ["done"]},
    )
    assert unknown.status_code == 400 and "webhook_events" in unknown.text
    assert api.request("GET", "/tokens/balance").json() == before


def test_a_requests_deliveries_are_logged_for_its_owner_only(api: Api) -> None:
    created = api.generate(webhook_url="https://hooks.example/in", webhook_events=["generation.requested"])
    api.container.route_webhooks().drain()
    log = api.request("GET", f"/images/{created['id']}/deliveries")
    assert log.status_code == 200, log.text
    (delivery,) = log.json()
    assert delivery["event"] == "generation.requested" and delivery["status"] == "pending"
    assert delivery["id"].startswith("msg_") and delivery["payload"]["data"]["image_id"] == created["id"]
    assert api.request("GET", f"/images/{created['id']}/deliveries", "bob").status_code == 404
    assert api.request("POST", f"/webhooks/deliveries/{delivery['id']}/replay", "bob").status_code == 404
    replayed = api.request("POST", f"/webhooks/deliveries/{delivery['id']}/replay")
    assert replayed.status_code == 202 and replayed.json()["id"] == delivery["id"]
    secret = api.request("GET", "/webhooks/secret").json()
    assert secret["secret"].startswith("whsec_")
    assert api.request("GET", "/webhooks/secret", "bob").json()["secret"] != secret["secret"]


def test_replays_count_against_the_rate_limit(api: Api) -> None:
    created = api.generate(webhook_url="https://hooks.example/in", webhook_events=["generation.requested"])
    api.container.route_webhooks().drain()
    (delivery,) = api.request("GET", f"/images/{created['id']}/deliveries").json()
    answers = [
        api.request("POST", f"/webhooks/deliveries/{delivery['id']}/replay").status_code
        for _ in range(api.settings.rate_limit_per_minute)
    ]
    assert answers[: api.settings.rate_limit_per_minute - 1] == [202] * (
        api.settings.rate_limit_per_minute - 1
    )
    assert answers[-1] == 429  # the generate request took one of the minute's requests
