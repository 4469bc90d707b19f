"""Hostile and careless input over HTTP, on SQLite and PostgreSQL wired as in production: NUL
characters, deep JSON, coerced types, wrong media types, doubled headers, forged hosts,
non-canonical identities and names. Each answers 4xx with a problem body naming the field,
never 5xx, and nothing is written."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from litestar.testing import TestClient
from pydantic import SecretStr

from nexus_image.adapters.sqlalchemy import migrate
from nexus_image.entrypoints.composition import Application, compose, http_app
from nexus_image.entrypoints.settings import Settings
from nexus_image.testing import PatternGenerator
from tests.api.conftest import SECRET, bearer, token, worker_beside
from tests.support.driver import hand_out

pytestmark = pytest.mark.integration


class Client:
    def __init__(self, client: TestClient[Any], app: Application) -> None:
        self.client = client
        self.app = app
        self.worker = worker_beside(app, PatternGenerator())

    def call(self, method: str, path: str, user: str | None = "alice", **kwargs: Any) -> Any:
        headers = {**(bearer(user) if user else {}), **kwargs.pop("headers", {})}
        return self.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)

    def balance(self, user: str = "alice") -> int:
        return int(self.call("GET", "/tokens/balance", user).json()["balance"])

    def completed(self, user: str = "alice", **body: Any) -> dict[str, Any]:
        created = self.call("POST", "/images/generate", user, json={"prompt": "a fox", "steps": 2, **body})
        assert created.status_code == 201, created.text
        hand_out(self.worker)
        queue = self.app.container.job_queue()
        while deliveries := queue.receive(8, 0):
            for delivery in deliveries:
                self.worker.process(delivery.job_id)
                queue.acknowledge(delivery)
        image: dict[str, Any] = self.call("GET", f"/images/{created.json()['id']}", user).json()
        return image


def settings_for(url: str, data_dir: Path, **extra: Any) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=url,
        jwt_secret=SecretStr(SECRET),
        embedded_worker=False,
        welcome_tokens=100,
        rate_limit_per_minute=1000,
        **extra,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Client]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hardening.db'}"
        migrate(url)
    else:
        request.getfixturevalue("clean_postgres")
        url = request.getfixturevalue("postgres_url")
    app = compose("api", settings_for(url, tmp_path))
    with TestClient(http_app(app)) as client:
        yield Client(client, app)


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["x-request-id"]
    body: dict[str, Any] = response.json()
    return body


# --- NUL and control characters -----------------------------------------------------------------


@pytest.mark.parametrize("field", ["prompt", "negative_prompt", "companion_id"])
def test_a_nul_in_a_generate_field_is_a_400_naming_it(api: Client, field: str) -> None:
    body = {"prompt": "a fox", field: "a\u0000b"}
    found = problem(api.call("POST", "/images/generate", json=body), 400)
    assert (found["code"], found["field"]) == ("invalid_request", field)
    assert api.balance() == 100


def test_a_nul_in_an_album_name_is_a_400_on_create_and_rename(api: Client) -> None:
    assert problem(api.call("POST", "/albums", json={"name": "trip\u0000"}), 400)["field"] == "name"
    album = api.call("POST", "/albums", json={"name": "trip"}).json()
    assert (
        problem(api.call("PATCH", f"/albums/{album['id']}", json={"name": "x\u0000y"}), 400)["field"]
        == "name"
    )
    assert api.call("GET", f"/albums/{album['id']}").json()["name"] == "trip"


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/images/a%00b", "image_id"),
        ("DELETE", "/images/a%00b", "image_id"),
        ("PUT", "/images/a%00b/favorite", "image_id"),
        ("GET", "/albums/x%00y", "album_id"),
        ("PUT", "/albums/x%00y/images/z", "album_id"),
    ],
)
def test_a_nul_in_a_path_id_is_a_400_naming_it(api: Client, method: str, path: str, field: str) -> None:
    assert problem(api.call(method, path), 400)["field"] == field


# --- the shape of bodies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method"),
    [("/images/generate", "POST"), ("/albums", "POST"), ("/moderation/check", "POST")],
)
def test_json_nested_a_thousand_deep_is_a_400(api: Client, path: str, method: str) -> None:
    body = "[" * 1000 + "]" * 1000
    found = problem(api.call(method, path, content=body, headers={"Content-Type": "application/json"}), 400)
    assert "nested deeper" in found["detail"]
    deep_object = '{"prompt": ' + '{"a": ' * 500 + "1" + "}" * 500 + "}"
    problem(api.call(method, path, content=deep_object, headers={"Content-Type": "application/json"}), 400)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "a fox", "seed": "42"}, "seed"),
        ({"prompt": "a fox", "steps": "3"}, "steps"),
        ({"prompt": "a fox", "is_public": 1}, "is_public"),
        ({"prompt": "a fox", "guidance": "7.5"}, "guidance"),
        ({"prompt": 5}, "prompt"),
    ],
)
def test_types_are_not_coerced(api: Client, body: dict[str, Any], field: str) -> None:
    found = problem(api.call("POST", "/images/generate", json=body), 400)
    assert found["field"] == field
    assert api.balance() == 100


def test_only_json_bodies_are_read(api: Client) -> None:
    plain = api.call(
        "POST", "/images/generate", content='{"prompt": "a fox"}', headers={"Content-Type": "text/plain"}
    )
    assert problem(plain, 415)["code"] == "unsupported_media_type"
    form = api.call("POST", "/albums", data={"name": "trip"})
    assert problem(form, 415)["code"] == "unsupported_media_type"
    typed = api.call(
        "POST",
        "/images/generate",
        content='{"prompt": "a fox"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert typed.status_code == 201
    assert api.balance() == 95


def test_an_empty_body_says_a_body_is_required(api: Client) -> None:
    found = problem(
        api.call("POST", "/albums", content=b"", headers={"Content-Type": "application/json"}), 400
    )
    assert "body is required" in found["detail"] and "data" not in found["detail"]


def test_two_authorization_headers_are_refused(api: Client) -> None:
    response = api.client.request(
        "GET",
        "/api/v1/tokens/balance",
        headers=[("Authorization", f"Bearer {token('alice')}"), ("Authorization", f"Bearer {token('bob')}")],
    )
    assert problem(response, 400)["code"] == "invalid_request"


def test_json_answers_are_not_cached_nor_sniffed_and_router_errors_carry_a_request_id(api: Client) -> None:
    answer = api.call("GET", "/tokens/balance")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    for response, status in (
        (api.call("GET", "/nowhere"), 404),
        (api.call("DELETE", "/tokens/balance"), 405),
    ):
        found = problem(response, status)
        assert found["request_id"] == response.headers["x-request-id"]
        assert response.headers["cache-control"] == "no-store"


# --- links and the Host header -----------------------------------------------------------------


def test_links_never_come_from_the_host_header(api: Client) -> None:
    image = api.completed()
    forged = api.call(
        "GET", f"/images/{image['id']}", headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    ).json()
    assert forged["storage_url"] == f"/api/v1/images/{image['id']}/file"
    assert "evil" not in forged["thumbnail_url"]


def test_links_are_absolute_from_the_configured_public_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'public.db'}"
    migrate(url)
    app = compose("api", settings_for(url, tmp_path, public_url="https://images.example.com/"))
    with TestClient(http_app(app)) as client:
        api = Client(client, app)
        image = api.completed()
        seen = api.call("GET", f"/images/{image['id']}", headers={"Host": "evil.example"}).json()
    assert seen["storage_url"] == f"https://images.example.com/api/v1/images/{image['id']}/file"


# --- visibility of favorites -------------------------------------------------------------------


def test_a_favorite_gone_private_is_neither_counted_nor_confirmed(api: Client) -> None:
    image = api.completed(is_public=True)
    assert api.call("PUT", f"/images/{image['id']}/favorite", "bob").status_code == 204
    assert api.call("GET", "/images/favorites", "bob").json()["total"] == 1
    api.call("PATCH", f"/images/{image['id']}/visibility", json={"is_public": False})
    listing = api.call("GET", "/images/favorites", "bob").json()
    assert (listing["total"], listing["items"]) == (0, [])
    gone = api.call("DELETE", f"/images/{image['id']}/favorite", "bob")
    missing = api.call("DELETE", "/images/no-such-image/favorite", "bob")
    assert gone.status_code == missing.status_code == 404
    assert gone.json()["detail"].replace(image["id"], "X") == missing.json()["detail"].replace(
        "no-such-image", "X"
    )


# --- canonical identities and names ------------------------------------------------------------


def test_subjects_are_canonical(api: Client) -> None:
    assert api.call("GET", "/tokens/balance", user=" alice ").json()["user_id"] == "alice"
    nfd = unicodedata.normalize("NFD", "zoë")
    assert api.call("GET", "/tokens/balance", user=nfd).json()["user_id"] == unicodedata.normalize(
        "NFC", "zoë"
    )
    assert api.call("GET", "/tokens/balance", user="al\u200bice").json()["user_id"] == "alice"
    for blank in ("   ", "\u200b", "\u0000"):
        assert problem(api.call("GET", "/tokens/balance", user=blank), 401)["code"] == "unauthenticated"


def test_tokens_need_a_numeric_and_bounded_expiry(api: Client) -> None:
    now = int(time.time())
    as_string = jwt.encode({"sub": "alice", "exp": str(now + 600)}, SECRET, algorithm="HS256")
    centuries = jwt.encode({"sub": "alice", "exp": now + 300 * 365 * 24 * 3600}, SECRET, algorithm="HS256")
    for bad in (as_string, centuries):
        response = api.client.get("/api/v1/tokens/balance", headers={"Authorization": f"Bearer {bad}"})
        assert problem(response, 401)["code"] == "unauthenticated"


def test_album_names_differing_only_invisibly_are_one_name(api: Client) -> None:
    first = api.call("POST", "/albums", json={"name": unicodedata.normalize("NFC", "Café")})
    assert first.status_code == 201
    for twin in (unicodedata.normalize("NFD", "Café"), "Caf\u200bé", " Café\u0007 "):
        assert problem(api.call("POST", "/albums", json={"name": twin}), 409)["code"] == "conflict"
    assert problem(api.call("POST", "/albums", json={"name": "\u200b\u200b"}), 422)["field"] == "name"


def test_an_idempotency_key_replayed_after_its_image_was_deleted_is_a_409(api: Client) -> None:
    body = {"prompt": "a fox", "steps": 2}
    key = {"Idempotency-Key": "order-7"}
    created = api.call("POST", "/images/generate", json=body, headers=key)
    assert created.status_code == 201
    assert api.call("DELETE", f"/images/{created.json()['id']}").status_code == 204
    found = problem(api.call("POST", "/images/generate", json=body, headers=key), 409)
    assert found["code"] == "idempotency_key_spent" and "new key" in found["detail"]
    assert api.balance() == 100  # charged once, refunded by the delete, not charged again


def test_a_replayed_key_of_a_group_is_spent_once_any_of_its_images_is_deleted(api: Client) -> None:
    body = {"prompt": "a fox", "steps": 2, "num_images": 2}
    key = {"Idempotency-Key": "order-8"}
    created = api.call("POST", "/images/generate", json=body, headers=key)
    assert created.status_code == 201
    first, second = (i["id"] for i in created.json()["images"])
    assert api.call("DELETE", f"/images/{second}").status_code == 204
    found = problem(api.call("POST", "/images/generate", json=body, headers=key), 409)
    assert found["code"] == "idempotency_key_spent" and "1 of which" in found["detail"]
    assert api.call("DELETE", f"/images/{first}").status_code == 204
    assert problem(api.call("POST", "/images/generate", json=body, headers=key), 409)["code"] == (
        "idempotency_key_spent"
    )
    assert api.balance() == 100
