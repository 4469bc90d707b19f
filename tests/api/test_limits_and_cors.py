"""Per-user rate limiting of generation requests, and CORS from configuration."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from pydantic import SecretStr

from nexus_image.entrypoints.settings import Settings

from .conftest import SECRET, Api, open_api

api_for = contextmanager(open_api)


def test_generate_is_rate_limited_per_user_with_retry_after(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, jwt_secret=SecretStr(SECRET), embedded_worker=False, rate_limit_per_minute=3
    )
    with api_for(settings) as api:
        for _ in range(3):
            api.generate()
        refused = api.request("POST", "/images/generate", json={"prompt": "one more"})
        assert refused.status_code == 429
        retry = int(refused.headers["retry-after"])
        assert 1 <= retry <= 120 and refused.json()["retry_after"] == retry
        assert refused.json()["code"] == "rate_limited"
        assert api.request("GET", "/images/user/me").json()["total"] == 3
        assert api.request("GET", "/tokens/balance").json()["balance"] == 85  # nothing charged
        api.generate(user="bob")  # another user has their own allowance
        assert api.audit()[3] == ("alice", "image.generate", "", "failed:rate_limited")
        assert api.request("GET", "/images/user/me").status_code == 200  # reads are not limited


def test_cors_allows_only_configured_origins(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        jwt_secret=SecretStr(SECRET),
        embedded_worker=False,
        cors_origins="https://app.example, https://b.example",
    )
    with api_for(settings) as api:
        preflight = api.client.options(
            "/api/v1/images/generate",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
            },
        )
        assert preflight.status_code in (200, 204)
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        assert "idempotency-key" in preflight.headers["access-control-allow-headers"].lower()
        actual = api.request("GET", "/tokens/balance", headers={"Origin": "https://b.example"})
        assert actual.headers["access-control-allow-origin"] == "https://b.example"
        assert "x-request-id" in actual.headers["access-control-expose-headers"].lower()
        evil = api.request("GET", "/tokens/balance", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in evil.headers


def test_no_cors_headers_unless_configured(api: Api) -> None:
    response = api.request("GET", "/tokens/balance", headers={"Origin": "https://app.example"})
    assert response.status_code == 200 and "access-control-allow-origin" not in response.headers
