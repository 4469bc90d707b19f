"""No object-level leak: every endpoint that takes an id, tried by another user.

Another user's private image or album answers exactly like one that does not exist (404, the
same body), and nothing changes. A public image may be seen by anyone, but only its owner may
change it (403)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Api

IMAGE_ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/images/{image}", None),
    ("GET", "/images/{image}/file", None),
    ("GET", "/images/{image}/thumbnail", None),
    ("POST", "/images/{image}/cancel", None),
    ("DELETE", "/images/{image}", None),
    ("PUT", "/images/{image}/favorite", None),
    ("DELETE", "/images/{image}/favorite", None),
    ("PATCH", "/images/{image}/visibility", {"is_public": True}),
    ("PUT", "/albums/{own_album}/images/{image}", None),
]
ALBUM_ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/albums/{album}", None),
    ("PATCH", "/albums/{album}", {"name": "mine now"}),
    ("DELETE", "/albums/{album}", None),
    ("GET", "/albums/{album}/images", None),
    ("PUT", "/albums/{album}/images/{own_image}", None),
    ("DELETE", "/albums/{album}/images/{image}", None),
]


def snapshot(api: Api) -> tuple[Any, ...]:
    store = api.db.store
    return (
        {k: (j.status, j.is_public, j.version) for k, j in store.jobs.items()},
        {k: (a.name, tuple(a.image_ids)) for k, a in store.albums.items()},
        dict(store.favorites),
        {k: a.balance for k, a in store.accounts.items()},
    )


@pytest.fixture
def ids(api: Api) -> dict[str, str]:
    """Alice's completed private image in her album; Bob's own image and album."""
    image = api.completed()["id"]
    album = api.request("POST", "/albums", json={"name": "private"}).json()["id"]
    api.request("PUT", f"/albums/{album}/images/{image}")
    own_image = api.completed(user="bob")["id"]
    own_album = api.request("POST", "/albums", user="bob", json={"name": "bob's"}).json()["id"]
    return {"image": image, "album": album, "own_image": own_image, "own_album": own_album}


def as_missing(ids: dict[str, str], kind: str) -> dict[str, str]:
    return {**ids, kind: "does-not-exist"}


@pytest.mark.parametrize(("method", "path", "body"), IMAGE_ENDPOINTS + ALBUM_ENDPOINTS)
def test_another_users_private_things_answer_exactly_like_missing_ones(
    api: Api, ids: dict[str, str], method: str, path: str, body: dict[str, Any] | None
) -> None:
    kind = "album" if "{album}" in path else "image"
    before = snapshot(api)
    foreign = api.request(method, path.format(**ids), user="bob", json=body)
    missing = api.request(method, path.format(**as_missing(ids, kind)), user="bob", json=body)
    assert foreign.status_code == missing.status_code == 404, foreign.text
    strip = ("request_id", "instance")
    expected = {k: v for k, v in missing.json().items() if k not in strip}
    expected["detail"] = expected["detail"].replace("does-not-exist", ids[kind])
    assert {k: v for k, v in foreign.json().items() if k not in strip} == expected
    assert snapshot(api) == before
    assert ids[kind] not in foreign.text.replace(foreign.json()["detail"], "").replace(
        foreign.json().get("instance", ""), ""
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/images/{image}/cancel", None),
        ("DELETE", "/images/{image}", None),
        ("PATCH", "/images/{image}/visibility", {"is_public": False}),
        ("PUT", "/albums/{own_album}/images/{image}", None),
    ],
)
def test_a_public_image_is_visible_but_only_its_owner_changes_it(
    api: Api, ids: dict[str, str], method: str, path: str, body: dict[str, Any] | None
) -> None:
    api.request("PATCH", f"/images/{ids['image']}/visibility", json={"is_public": True})
    before = snapshot(api)
    response = api.request(method, path.format(**ids), user="bob", json=body)
    assert response.status_code == 403 and response.json()["code"] == "access_denied"
    assert snapshot(api) == before
    assert api.audit()[-1][0] == "bob" and api.audit()[-1][3] == "failed:access_denied"


def test_a_public_image_can_be_seen_downloaded_and_favorited_by_others(api: Api, ids: dict[str, str]) -> None:
    api.request("PATCH", f"/images/{ids['image']}/visibility", json={"is_public": True})
    for path in ("/images/{image}", "/images/{image}/file", "/images/{image}/thumbnail"):
        assert api.request("GET", path.format(**ids), user="bob").status_code == 200
    assert api.request("PUT", f"/images/{ids['image']}/favorite", user="bob").status_code == 204
    api.request("PATCH", f"/images/{ids['image']}/visibility", json={"is_public": False})
    # Withdrawn from the gallery: for Bob it is gone, from the list, the count and the route,
    # exactly like an image that never existed.
    assert api.request("GET", "/images/favorites", user="bob").json() == {
        "items": [],
        "total": 0,
        "page": 0,
        "size": 20,
    }
    assert api.request("DELETE", f"/images/{ids['image']}/favorite", user="bob").status_code == 404


def test_lists_never_show_other_users_private_images(api: Api, ids: dict[str, str]) -> None:
    for path in (
        "/images/user/me",
        "/images/public",
        "/images/favorites",
        f"/albums/{ids['own_album']}/images",
    ):
        listed = api.request("GET", path, user="bob").json()
        assert ids["image"] not in str(listed)
    assert [a["id"] for a in api.request("GET", "/albums", user="bob").json()] == [ids["own_album"]]


def test_refused_attempts_are_audited(api: Api, ids: dict[str, str]) -> None:
    api.request("DELETE", f"/images/{ids['image']}", user="bob")
    api.request("PATCH", f"/albums/{ids['album']}", user="bob", json={"name": "x"})
    assert api.audit()[-2:] == [
        ("bob", "image.delete", ids["image"], "failed:not_found"),
        ("bob", "album.rename", ids["album"], "failed:not_found"),
    ]
