"""Every error answers application/problem+json with what the client can act on; bad input
never reaches the database and never costs anything."""

from __future__ import annotations

from typing import Any

import pytest

from nexus_image.testing import InMemoryStorage

from .conftest import Api


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"].startswith("urn:nexus-image:problem:")
    assert body["title"] and body["detail"]
    if "x-request-id" in response.headers:  # every answer has one, the router's 404/405 too
        assert body["request_id"] == response.headers["x-request-id"]
    return body


@pytest.mark.parametrize(
    ("body", "field", "allowed"),
    [
        ({"prompt": "x", "style": "vaporwave"}, "style", ["realistic", "anime", "artistic", "3d", "sketch"]),
        (
            {"prompt": "x", "resolution": "640x480"},
            "resolution",
            ["512x512", "768x768", "1024x1024", "1024x1536"],
        ),
        ({"prompt": "x", "scheduler": "magic"}, "scheduler", None),
        ({"prompt": "x", "steps": 500}, "steps", None),
        ({"prompt": "x", "seed": -1}, "seed", None),
        ({"prompt": "x", "guidance": 0.5}, "guidance", None),
        ({"prompt": ""}, "prompt", None),
        ({"prompt": 3}, "prompt", None),
        ({}, "prompt", None),
        ({"prompt": "x", "negative_promt": "typo"}, "negative_promt", None),
    ],
)
def test_schema_violations_are_400_naming_the_field(
    api: Api, body: dict[str, Any], field: str, allowed: list[str] | None
) -> None:
    found = problem(api.request("POST", "/images/generate", json=body), 400)
    assert found["field"] == field and found["code"] == "invalid_request"
    if allowed is not None:
        assert found["allowed"] == allowed and ", ".join(allowed) in found["detail"]
    assert api.db.opened == 0  # refused at the edge: no transaction, no charge, no audit row


def test_scheduler_problem_lists_the_allowed_values(api: Api) -> None:
    found = problem(api.request("POST", "/images/generate", json={"prompt": "x", "scheduler": "magic"}), 400)
    assert "euler_a" in found["allowed"]


def test_a_blank_prompt_is_422_from_the_domain(api: Api) -> None:
    found = problem(api.request("POST", "/images/generate", json={"prompt": "   "}), 422)
    assert (found["code"], found["field"]) == ("invalid_value", "prompt")
    assert api.request("GET", "/images/user/me").json()["total"] == 0


def test_a_moderated_prompt_is_422_with_its_category(api: Api) -> None:
    found = problem(api.request("POST", "/images/generate", json={"prompt": "a n.u.d.e portrait"}), 422)
    assert (found["code"], found["category"], found["field"]) == ("prompt_rejected", "sexual", "prompt")
    assert found["layer"] == "rules"
    assert api.request("GET", "/tokens/balance").json()["balance"] == 100
    assert api.audit() == [
        ("alice", "moderation.refused", "generate", "refused:sexual"),
        ("alice", "image.generate", "", "failed:prompt_rejected"),
    ]


def test_insufficient_tokens_is_402_with_required_and_balance(api: Api) -> None:
    for _ in range(3):
        api.generate(resolution="1024x1536")
    found = problem(
        api.request("POST", "/images/generate", json={"prompt": "x", "resolution": "1024x1024"}), 402
    )
    assert (found["code"], found["required"], found["balance"]) == ("insufficient_tokens", 20, 10)
    assert api.request("GET", "/images/user/me").json()["total"] == 3


def test_malformed_json_is_400_without_touching_the_database(api: Api) -> None:
    response = api.request(
        "POST",
        "/images/generate",
        content=b'{"prompt": "a fox",',
        headers={"Content-Type": "application/json"},
    )
    problem(response, 400)
    assert api.db.opened == 0


def test_an_oversized_body_is_413_without_touching_the_database(api: Api) -> None:
    body = b'{"prompt": "' + b"a" * (70 * 1024) + b'"}'
    response = api.request(
        "POST", "/images/generate", content=body, headers={"Content-Type": "application/json"}
    )
    assert problem(response, 413)["code"] == "payload_too_large"
    assert api.db.opened == 0


def test_wrong_method_is_405_problem(api: Api) -> None:
    assert problem(api.request("PUT", "/images/generate", json={}), 405)["code"] == "method_not_allowed"


def test_album_name_taken_is_409_and_removing_an_absent_image_is_404(api: Api) -> None:
    assert api.request("POST", "/albums", json={"name": "Trips"}).status_code == 201
    found = problem(api.request("POST", "/albums", json={"name": "Trips"}), 409)
    assert found["code"] == "conflict"
    album = api.request("GET", "/albums").json()[0]
    image = api.generate()
    missing = problem(api.request("DELETE", f"/albums/{album['id']}/images/{image['id']}"), 404)
    assert missing["code"] == "image_not_in_album"


def test_an_unavailable_dependency_is_503_with_retry_after(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    image = api.completed()
    broken = InMemoryStorage()
    broken.available = False
    monkeypatch.setattr(api.container.storage(), "get", broken.get)
    response = api.request("GET", f"/images/{image['id']}/file")
    found = problem(response, 503)
    assert found["code"] == "storage_unavailable" and found["retry_after"] == 5
    assert response.headers["retry-after"] == "5"
    assert "unavailable" in found["detail"]
