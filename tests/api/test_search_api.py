"""Search over HTTP: `/images/search` (the caller's images) and `/gallery/search` (public ones),
their pages by cursor, and every bad value answered with a problem naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from nexus_image.domain.parameters import search_fields

from .conftest import Api


@pytest.fixture
def images(api: Api) -> dict[str, dict[str, Any]]:
    """Alice: two foxes (one public, anime) and a dragon; bob: a private and a public fox."""
    made = {
        "fox": api.generate(prompt="a red fox running in the snow", seed=1),
        "foxes": api.generate(prompt="two foxes asleep", seed=2, style="anime", is_public=True),
        "dragon": api.generate(prompt="a dragon over a castle", seed=3, resolution="768x768"),
        "bob-fox": api.generate("bob", prompt="a secret fox den", seed=4),
        "bob-public": api.generate("bob", prompt="a fox in bob's garden", seed=5, is_public=True),
    }
    api.run_jobs()
    return made


def found(api: Api, path: str, user: str = "alice", **params: Any) -> list[str]:
    response = api.request("GET", path, user, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_words_and_filters_find_own_images_and_public_ones_never_anyone_elses_private(
    api: Api, images: dict[str, Any]
) -> None:
    ids = {name: image["id"] for name, image in images.items()}
    assert found(api, "/images/search", q="foxes") == [ids["foxes"], ids["fox"]]
    assert found(api, "/images/search", q="runs") == [ids["fox"]]
    assert found(api, "/images/search", q="drag") == [ids["dragon"]]
    assert found(api, "/images/search", q="fox", style="anime") == [ids["foxes"]]
    assert found(api, "/images/search", resolution="768x768") == [ids["dragon"]]
    assert found(api, "/images/search", seed=1, public="false") == [ids["fox"]]
    assert found(api, "/images/search", q="secret") == []  # bob's
    assert found(api, "/images/search", "bob", q="fox") == [ids["bob-public"], ids["bob-fox"]]
    assert api.request("PUT", f"/images/{ids['bob-public']}/favorite").status_code == 204
    assert api.request("PUT", f"/images/{ids['dragon']}/favorite").status_code == 204
    assert found(api, "/images/search", favorite="true") == [ids["dragon"]]  # her own only
    gallery = {ids["bob-public"], ids["foxes"]}  # completed in the order the queue's policy chose
    assert set(found(api, "/gallery/search", "carol", q="fox")) == gallery
    assert set(found(api, "/gallery/search", "carol", q="foxes", sort="relevance")) == gallery
    assert found(api, "/gallery/search", "carol", q="secret") == []
    assert found(api, "/gallery/search", "carol", q="dragon") == []


def test_results_are_the_listings_views_a_page_at_a_time_by_cursor_of_their_own_query(
    api: Api, images: dict[str, Any]
) -> None:
    listed = api.request("GET", "/images/user/me").json()["items"]
    searched = api.request("GET", "/images/search").json()
    assert searched["items"] == listed and searched["next_cursor"] is None
    gallery = api.request("GET", "/images/public", "carol").json()["items"]
    assert api.request("GET", "/gallery/search", "carol").json()["items"] == gallery
    one = images["dragon"]["id"]
    assert api.request("GET", f"/images/{one}").json()["id"] == one  # the route beside it still answers
    first = api.request("GET", "/images/search", params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = api.request("GET", "/images/search", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [i["id"] for i in first["items"] + rest["items"]] == found(api, "/images/search")
    assert rest["next_cursor"] is None
    for other in ({"q": "fox"}, {"sort": "relevance", "q": "fox"}, {"style": "anime"}):
        refused = api.request("GET", "/images/search", params={**other, "cursor": first["next_cursor"]})
        assert refused.status_code == 400, refused.text
        assert refused.json()["field"] == "cursor" and refused.json()["code"] == "invalid_cursor"
    elsewhere = api.request("GET", "/gallery/search", params={"cursor": first["next_cursor"]})
    assert elsewhere.status_code == 400 and elsewhere.json()["field"] == "cursor"


BAD_VALUES: list[tuple[dict[str, Any], int, str, list[str] | None]] = [
    ({"style": "oil"}, 422, "style", ["realistic", "anime", "artistic", "3d", "sketch"]),
    ({"resolution": "5x5"}, 422, "resolution", ["512x512", "768x768", "1024x1024", "1024x1536"]),
    ({"mode": "collage"}, 422, "mode", ["txt2img", "img2img", "inpaint", "upscale"]),
    ({"sort": "size"}, 422, "sort", ["date", "relevance"]),
    ({"sort": "relevance"}, 422, "sort", ["date"]),  # relevance needs words
    ({"created_from": "last tuesday"}, 422, "created_from", None),
    ({"created_from": "2026-03-02", "created_to": "2026-03-01"}, 422, "created_to", None),
    ({"limit": 0}, 422, "limit", None),
    ({"limit": 101}, 422, "limit", None),
    ({"limit": "many"}, 400, "limit", None),
    ({"seed": -1}, 422, "seed", None),
    ({"favorite": "perhaps"}, 400, "favorite", None),
    ({"model": "Not A Name!"}, 422, "model", None),
    ({"q": "x" * 201}, 422, "q", None),
    ({"cursor": "not-a-cursor"}, 400, "cursor", None),
    ({"cursor": "eyJmIjoxfQ"}, 400, "cursor", None),
]


def test_bad_values_are_problems_naming_the_field_and_the_allowed_values(api: Api) -> None:
    for params, status, field, allowed in BAD_VALUES:
        paths = ["/images/search"] + ([] if "favorite" in params else ["/gallery/search"])  # not there
        for path in paths:
            response = api.request("GET", path, params=params)
            assert response.status_code == status, (params, response.text)
            body = response.json()
            assert response.headers["content-type"].startswith("application/problem+json")
            assert (body["field"], body.get("allowed")) == (field, allowed), params
            assert all(value in body["detail"] for value in allowed or [])


def test_an_album_not_the_callers_answers_like_a_missing_one(api: Api) -> None:
    dragon, _ = api.generate(prompt="a dragon"), api.generate(prompt="a dragon too")
    album = api.request("POST", "/albums", json={"name": "Dragons"}, user="alice").json()
    assert api.request("PUT", f"/albums/{album['id']}/images/{dragon['id']}").status_code == 200
    assert found(api, "/images/search", album=album["id"], q="dragon") == [dragon["id"]]
    theirs = api.request("GET", "/images/search", "bob", params={"album": album["id"]})
    missing = api.request("GET", "/images/search", "bob", params={"album": "no-such-album"})
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["code"] == missing.json()["code"] == "not_found"
    assert theirs.json()["detail"] == f"album {album['id']} not found"


def test_each_searchable_field_is_a_documented_filter_of_both_searches(api: Api) -> None:
    document = api.client.get("/schema/openapi.json").json()
    for route in ("/api/v1/images/search", "/api/v1/gallery/search"):
        parameters = {p["name"]: p for p in document["paths"][route]["get"]["parameters"]}
        for described in search_fields():
            documented = parameters[str(described.param.search)]
            assert documented["in"] == "query" and not documented.get("required", False)
            if described.param.choices is not None:
                assert documented["schema"]["enum"] == [c.value for c in described.param.choices]
        assert parameters["seed"]["schema"]["maximum"] == 2**32 - 1
    config = api.client.get("/studio/config").json()
    searchable = {f["search"]: f["name"] for f in config["fields"] if f["search"]}
    assert searchable == {str(d.param.search): d.name for d in search_fields()}
