"""The API documentation works offline: the served OpenAPI document is valid (by
openapi-spec-validator), every 429 and 503 documents its Retry-After, and the Swagger UI and
ReDoc pages load their scripts and styles from the app itself, never from another host."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate

from .conftest import Api

DOC_PAGES = ("/schema/swagger", "/schema", "/schema/redoc")
ASSET = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)=["']([^"']+)["']""", re.IGNORECASE)
LINK = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


def document(api: Api) -> dict[str, Any]:
    response = api.client.get("/schema/openapi.json")
    assert response.status_code == 200
    served: dict[str, Any] = response.json()
    return served


def responses(doc: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    return [
        (path, method, status, response)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
        for status, response in operation["responses"].items()
    ]


def test_the_served_document_is_valid_openapi(api: Api) -> None:
    validate(document(api))


def test_every_429_and_503_documents_retry_after_in_whole_seconds(api: Api) -> None:
    retried = [r for r in responses(document(api)) if r[2] in ("429", "503")]
    assert {status for _, _, status, _ in retried} == {"429", "503"}
    for path, method, status, response in retried:
        header = response.get("headers", {}).get("Retry-After")
        assert header is not None, f"{method.upper()} {path} {status} has no Retry-After"
        assert header["schema"] == {"type": "integer", "minimum": 1}
        assert header["required"] is True


def test_the_location_of_a_new_image_is_a_uri_reference(api: Api) -> None:
    created = document(api)["paths"]["/api/v1/images/generate"]["post"]["responses"]["201"]
    assert created["headers"]["Location"]["schema"] == {"type": "string", "format": "uri-reference"}


def test_readiness_says_when_to_ask_again(api: Api) -> None:
    api.db.failure = ConnectionError("database down")
    ready = api.client.get("/ready")
    assert ready.status_code == 503
    assert int(ready.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("page", DOC_PAGES)
def test_the_documentation_pages_name_no_other_host(api: Api, page: str) -> None:
    html = api.client.get(page)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assets = ASSET.findall(html.text)
    assert any(url.endswith(".js") for url in assets), assets
    for url in LINK.findall(html.text):  # what the page loads or links to: the app's own paths
        assert url.startswith("/") and not url.startswith("//"), url
    for url in assets:
        assert url.startswith("/schema/assets/"), url


@pytest.mark.parametrize("page", DOC_PAGES)
def test_the_pages_scripts_styles_and_icon_are_served_without_a_token(api: Api, page: str) -> None:
    for url in ASSET.findall(api.client.get(page).text):
        asset = api.client.get(url)
        assert asset.status_code == 200, url
        assert TYPES[url[url.rindex(".") :]] in asset.headers["content-type"], (url, asset.headers)
        assert len(asset.content) > 0


def test_swagger_ui_loads_its_bundle_its_preset_and_its_styles(api: Api) -> None:
    assets = {url.rsplit("/", 1)[-1] for url in ASSET.findall(api.client.get("/schema/swagger").text)}
    assert {"swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"} <= assets
