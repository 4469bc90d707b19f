"""Organising images over HTTP: favorites, visibility and the gallery, albums, the balance."""

from __future__ import annotations

from .conftest import Api


def test_favorites_can_be_set_listed_and_removed_idempotently(api: Api) -> None:
    first, second = api.completed(seed=1), api.completed(seed=2)
    for image in (first, second, first):
        assert api.request("PUT", f"/images/{image['id']}/favorite").status_code == 204
    listed = api.request("GET", "/images/favorites").json()
    assert listed["total"] == 2 and {i["id"] for i in listed["items"]} == {first["id"], second["id"]}
    assert all(i["is_favorite"] for i in listed["items"])
    assert api.request("GET", f"/images/{first['id']}").json()["is_favorite"] is True
    for _ in range(2):
        assert api.request("DELETE", f"/images/{first['id']}/favorite").status_code == 204
    assert [i["id"] for i in api.request("GET", "/images/favorites").json()["items"]] == [second["id"]]


def test_published_images_show_in_the_gallery_once_completed(api: Api) -> None:
    queued = api.generate(is_public=True)
    assert api.request("GET", "/images/public", user="bob").json()["total"] == 0
    api.run_jobs()
    private = api.completed(seed=3)
    gallery = api.request("GET", "/images/public", user="bob").json()
    assert [i["id"] for i in gallery["items"]] == [queued["id"]]
    patched = api.request("PATCH", f"/images/{private['id']}/visibility", json={"is_public": True})
    assert patched.status_code == 200 and patched.json()["is_public"] is True
    assert patched.json()["storage_url"].endswith("/file")
    assert api.request("GET", "/images/public", user="bob").json()["total"] == 2
    assert api.request("GET", f"/images/{private['id']}", user="bob").status_code == 200
    assert api.request("GET", f"/images/{private['id']}/file", user="bob").status_code == 200
    api.request("PATCH", f"/images/{private['id']}/visibility", json={"is_public": False})
    assert api.request("GET", f"/images/{private['id']}", user="bob").status_code == 404
    assert ("alice", "image.unpublish", private["id"], "success") in api.audit()


def test_visibility_body_is_validated(api: Api) -> None:
    image = api.generate()
    response = api.request("PATCH", f"/images/{image['id']}/visibility", json={"is_public": "yes"})
    assert response.status_code == 400 and response.json()["field"] == "is_public"


def test_albums_crud_and_contents(api: Api) -> None:
    created = api.request("POST", "/albums", json={"name": "  Summer   trip "})
    assert created.status_code == 201
    album = created.json()
    assert (album["name"], album["owner_id"], album["image_count"]) == ("Summer trip", "alice", 0)
    images = [api.completed(seed=i) for i in range(3)]
    for image in [*images, images[0]]:
        added = api.request("PUT", f"/albums/{album['id']}/images/{image['id']}")
        assert added.status_code == 200
    assert added.json()["image_count"] == 3
    page = api.request("GET", f"/albums/{album['id']}/images", params={"size": 2}).json()
    assert page["total"] == 3 and [i["id"] for i in page["items"]] == [images[0]["id"], images[1]["id"]]
    renamed = api.request("PATCH", f"/albums/{album['id']}", json={"name": "Winter"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Winter"
    assert api.request("GET", f"/albums/{album['id']}").json()["name"] == "Winter"
    removed = api.request("DELETE", f"/albums/{album['id']}/images/{images[1]['id']}")
    assert removed.status_code == 204
    assert [a["image_count"] for a in api.request("GET", "/albums").json()] == [2]
    assert api.request("DELETE", f"/albums/{album['id']}").status_code == 204
    assert api.request("GET", f"/albums/{album['id']}").status_code == 404
    assert api.request("GET", f"/images/{images[0]['id']}").status_code == 200  # images stay


def test_album_names_are_validated(api: Api) -> None:
    assert api.request("POST", "/albums", json={"name": "x" * 101}).status_code == 400
    blank = api.request("POST", "/albums", json={"name": "   "})
    assert blank.status_code == 422 and blank.json()["field"] == "name"


def test_balance_opens_the_account_with_the_welcome_grant(api: Api) -> None:
    assert api.request("GET", "/tokens/balance", user="carol").json() == {"user_id": "carol", "balance": 100}
