"""The local sign-in of the embedded server, over real sockets: a loopback caller gets a token
the API accepts; a request that names another host (a rebound DNS name), comes from another
origin's page or through a proxy gets the 404 of a missing route."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.conftest import Studio

pytestmark = pytest.mark.integration


def local_token(studio: Studio, body: Any = None, **headers: str) -> httpx.Response:
    return httpx.post(f"{studio.url}/studio/local-token", json=body or {}, headers=headers, timeout=10)


def test_a_loopback_caller_gets_a_token_the_api_accepts(studio: Studio) -> None:
    answer = local_token(studio, {"user": "  Zoë "})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["user_id"] == "Zoë" and body["expires_in"] == 86400
    headers = {"Authorization": f"Bearer {body['token']}"}
    balance = httpx.get(f"{studio.url}/api/v1/tokens/balance", headers=headers, timeout=10)
    assert balance.status_code == 200 and balance.json()["user_id"] == "Zoë"
    assert local_token(studio).json()["user_id"] == "local"
    same_origin = local_token(studio, {"user": "yan"}, Origin=studio.url, Host=f"localhost:{studio.port}")
    assert same_origin.status_code == 200


@pytest.mark.parametrize("user", ["", "   ", "\u200b", "x" * 256])
def test_a_blank_or_overlong_user_name_is_400_naming_the_field(studio: Studio, user: str) -> None:
    answer = local_token(studio, {"user": user})
    assert answer.status_code == 400 and answer.json()["field"] == "user"


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example:8000"},
        {"Origin": "http://evil.example"},
        {"X-Forwarded-For": "203.0.113.7"},
        {"Forwarded": "for=203.0.113.7"},
    ],
    ids=["another host name", "another origin's page", "through a proxy", "through a proxy (RFC 7239)"],
)
def test_anything_but_a_direct_local_request_gets_the_missing_route_404(
    studio: Studio, headers: dict[str, str]
) -> None:
    answer = local_token(studio, {"user": "mallory"}, **headers)
    missing = httpx.post(f"{studio.url}/studio/no-such-route", json={}, headers=headers, timeout=10)
    assert answer.status_code == 404 == missing.status_code
    assert answer.json()["code"] == missing.json()["code"] == "not_found"
