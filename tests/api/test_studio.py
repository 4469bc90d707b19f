"""The studio's server side: the page and its assets come from this server only (offline, no
CDN), its configuration tells the page the truth about the model and prices, and the local
sign-in exists only in the embedded mode on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from pydantic import SecretStr

from nexus_image.domain.resolution import Resolution
from nexus_image.entrypoints.http.controllers.studio import loopback
from nexus_image.entrypoints.http.studio import ASSETS, PAGE
from nexus_image.entrypoints.settings import Settings

from .conftest import SECRET, app_for

EXTERNAL = re.compile(
    r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|@import\s+url\(\s*["']?(?:https?:)?//|url\(\s*["']?https?://"""
)


def client_for(**values: Any) -> Iterator[TestClient[Any]]:
    with TestClient(app_for(Settings(**values))) as client:
        yield client


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[TestClient[Any]]:
    yield from client_for(data_dir=tmp_path / "data", embedded_worker=False)


def test_the_page_is_served_at_the_root_with_a_strict_policy(embedded: TestClient[Any]) -> None:
    page = embedded.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "<h1" in page.text and 'type="module"' in page.text


def test_every_asset_the_page_loads_is_served_here_and_nothing_names_another_host(
    embedded: TestClient[Any],
) -> None:
    page = embedded.get("/").text
    referenced = re.findall(r"""(?:src|href)=["'](/studio/assets/[^"']+)["']""", page)
    assert referenced, "the page loads its assets from /studio/assets/"
    for path in referenced:
        assert embedded.get(path).status_code == 200, path
    assert embedded.get("/studio/assets/index.html").status_code == 404  # only at /, with its policy
    for asset in sorted([PAGE, *ASSETS.iterdir()]):
        text = asset.read_text()
        assert not EXTERNAL.search(text), f"{asset.name} loads something from another host"
        imports = re.findall(r"""from\s+["'](\./[^"']+)["']""", text)
        for module in imports:
            assert embedded.get(f"/studio/assets/{module[2:]}").status_code == 200, module


def test_the_configuration_says_noise_without_a_model_and_lists_the_prices(embedded: TestClient[Any]) -> None:
    config = embedded.get("/studio/config").json()
    model = config["model"]
    assert model == {"configured": False, "name": "tiny-sd15-random", "notice": model["notice"]}
    assert "noise" in config["model"]["notice"]
    assert config["models"] == embedded.get("/studio/models").json()  # what the page polls
    prices = {r["value"]: r["tokens"] for r in config["resolutions"]}
    assert prices == {r.value: r.token_cost for r in Resolution}
    assert config["local_sign_in"] is True and config["mode"] == "api"
    assert config["default_scheduler"] in config["schedulers"]


FIELD_KEYS = {
    "name", "label", "help", "kind", "min", "max", "min_exclusive", "max_length", "required", "choices",
    "default", "fallback", "group", "offered_by", "search", "scope",
}  # fmt: skip


def test_the_configuration_describes_each_request_field_in_the_forms_order(
    embedded: TestClient[Any],
) -> None:
    fields = embedded.get("/studio/config").json()["fields"]
    assert [f["name"] for f in fields] == [
        "prompt", "negative_prompt", "style", "model", "resolution", "seed", "steps", "guidance", "scheduler",
        "variation_seed", "variation_strength", "init_image_id", "mask_image_id", "strength", "loras",
        "clip_skip", "schedule", "tiling", "hires_scale", "hires_steps", "hires_denoise", "hires_upscaler",
        "fast", "preset",
        "num_images", "is_public", "companion_id", "deadline_seconds", "webhook_url", "webhook_events",
    ]  # fmt: skip
    assert all(set(f) == FIELD_KEYS and f["label"] and f["help"] for f in fields)
    by_name = {f["name"]: f for f in fields}
    searched = {f["name"]: f["search"] for f in fields if f["search"]}
    assert searched == {
        "style": "style",
        "model": "model",
        "resolution": "resolution",
        "seed": "seed",
        "loras": "lora",
    }
    assert by_name["prompt"]["required"] is True and by_name["prompt"]["max_length"] == 1000
    assert by_name["style"]["choices"] == ["realistic", "anime", "artistic", "3d", "sketch"]
    steps = by_name["steps"]
    assert (steps["kind"], steps["min"], steps["max"], steps["fallback"]) == ("integer", 1, 100, "style")
    assert by_name["strength"]["min_exclusive"] is True
    grouped = {f["name"] for f in fields if f["group"] == "variation"}
    assert grouped == {"variation_seed", "variation_strength"}
    per_request = {f["name"] for f in fields if f["scope"] == "request"}
    assert per_request == {
        "num_images",
        "is_public",
        "companion_id",
        "deadline_seconds",
        "webhook_url",
        "webhook_events",
    }


def test_a_configured_model_is_named(tmp_path: Path) -> None:
    for client in client_for(data_dir=tmp_path, embedded_worker=False, model="stabilityai/sd-turbo"):
        model = client.get("/studio/config").json()["model"]
        assert model == {"configured": True, "name": "sd-turbo", "notice": None}  # the model's name


@pytest.mark.parametrize(
    "values",
    [
        {"database_url": "sqlite:///{tmp}/other.db", "jwt_secret": SecretStr(SECRET)},
        {"host": "0.0.0.0"},
        {"host": "192.168.1.20"},
        {"host": "::"},
    ],
    ids=["database URL", "all interfaces", "a LAN address", "all IPv6 interfaces"],
)
def test_local_sign_in_is_a_plain_404_beyond_the_embedded_loopback_server(
    tmp_path: Path, values: dict[str, Any]
) -> None:
    settings = {k: v.format(tmp=tmp_path) if isinstance(v, str) else v for k, v in values.items()}
    for client in client_for(data_dir=tmp_path / "data", embedded_worker=False, **settings):
        assert_missing(client)
        assert client.get("/studio/config").json()["local_sign_in"] is False


def assert_missing(client: TestClient[Any]) -> None:
    """Whatever the body and the method, the route answers as a missing one does: before the
    body is read."""
    missing = client.post("/studio/no-such-route", json={})
    for body in ({"json": {"user": "mallory"}}, {"json": {"bogus": 1}}, {"content": b"user=x"}, {}):
        answer = client.post("/studio/local-token", **body)
        assert answer.status_code == 404 == missing.status_code, answer.text
        assert answer.json()["code"] == missing.json()["code"] == "not_found"
    for method in ("GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"):
        answer = client.request(method, "/studio/local-token")
        assert answer.status_code == 404, (method, answer.status_code)
        if method != "HEAD":
            assert answer.json()["code"] == "not_found", method


def test_a_caller_not_on_this_machine_gets_the_404_too(embedded: TestClient[Any]) -> None:
    """The test client's peer is "testclient", not a loopback address (a real loopback caller is
    tested against a real server in tests/browser/test_local_sign_in.py)."""
    assert embedded.get("/studio/config").json()["local_sign_in"] is True
    assert_missing(embedded)


@pytest.mark.parametrize(
    ("host", "expected"),
    [("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("10.0.0.1", False), ("example.org", False), ("", False)],
)  # fmt: skip
def test_loopback_means_only_this_machine(host: str, expected: bool) -> None:
    assert loopback(host) is expected


def test_no_local_sign_in_where_tokens_are_verified_with_a_public_key(tmp_path: Path) -> None:
    """Tokens cannot be signed here then: the button is not offered and the route is the 404."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    for client in client_for(data_dir=tmp_path / "data", embedded_worker=False, jwt_public_key=pem):
        assert client.get("/studio/config").json()["local_sign_in"] is False
        assert_missing(client)
