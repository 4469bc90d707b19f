"""Service keys over HTTP: a key acting for two users keeps each user's images theirs only (and
bills each); a key without the scope a route needs is 403; a revoked or expired key is 401 at
once; a key's own rate limit; the admin routes; the audit trail naming user and key."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from nexus_image.application.service_keys import CreateServiceKey
from nexus_image.domain.errors import InvalidValue
from nexus_image.entrypoints.composition import http_app
from nexus_image.entrypoints.http.auth import Caller, act_for
from nexus_image.entrypoints.settings import Settings
from nexus_image.testing import ManualClock, PatternGenerator

from .conftest import API, Api, CountingStore, bearer, build_app

WRITER = ["images:read", "images:write"]
BROKER = [*WRITER, "on_behalf_of"]


def make_key(api: Api, scopes: list[str], name: str = "svc", **fields: Any) -> tuple[str, str]:
    """A key made as an operator's CLI would: (id, token)."""
    created = api.app.manage_service_keys.create(CreateServiceKey(name, scopes, **fields))
    return created.key.id, created.token


def call(api: Api, method: str, path: str, key: str, acting_for: str | None = None, **kwargs: Any) -> Any:
    headers: dict[str, Any] = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
    if acting_for is not None:
        headers["X-On-Behalf-Of"] = acting_for.encode()  # UTF-8, as user names may be
    return api.client.request(method, API + path, headers=headers, **kwargs)


def generated(api: Api, key: str, acting_for: str | None, prompt: str) -> str:
    response = call(api, "POST", "/images/generate", key, acting_for, json={"prompt": prompt, "steps": 2})
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    return job_id


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def test_a_key_acting_for_two_users_keeps_each_users_images_theirs_only(api: Api) -> None:
    key_id, key = make_key(api, BROKER, "broker")
    alice = generated(api, key, "alice", "a red fox")
    bob = generated(api, key, "bob", "a blue whale")
    api.run_jobs()

    def mine(user: str) -> list[str]:
        return [i["id"] for i in call(api, "GET", "/images/user/me", key, user).json()["items"]]

    assert mine("alice") == [alice] and mine("bob") == [bob]
    assert call(api, "GET", f"/images/{bob}", key, "alice").status_code == 404
    assert call(api, "GET", f"/images/{alice}", key, "bob").status_code == 404
    assert call(api, "DELETE", f"/images/{alice}", key, "bob").status_code == 404
    # the users themselves see exactly what was made for them
    assert api.request("GET", f"/images/{alice}", "alice").json()["status"] == "COMPLETED"
    assert api.request("GET", f"/images/{bob}", "alice").status_code == 404
    # each was charged, and the key's own user nothing
    for user in ("alice", "bob"):
        assert call(api, "GET", "/tokens/balance", key, user).json() == {"user_id": user, "balance": 95}
    assert call(api, "GET", "/images/user/me", key).json()["total"] == 0  # the key as itself: service:broker
    # the user names are canonical, as a JWT's subject is
    assert mine(" alice\u200b ") == [alice]
    # the audit trail names both: the user acted for, and the key
    rows = [(a.actor, a.action, a.via) for a in api.db.store.audit if a.action == "image.generate"]
    label = f"key:{key_id} (broker)"
    assert rows == [("alice", "image.generate", label), ("bob", "image.generate", label)]
    deleted = call(api, "DELETE", f"/images/{alice}", key, "alice")
    assert deleted.status_code == 204
    assert [(a.actor, a.outcome, a.via) for a in api.db.store.audit if a.action == "image.delete"] == [
        ("bob", "failed:not_found", label),
        ("alice", "success", label),
    ]


def test_a_users_own_token_leaves_the_audit_rows_via_empty(api: Api) -> None:
    api.generate("alice")
    assert [a.via for a in api.db.store.audit] == [""]


def test_a_key_without_the_scope_a_route_needs_is_403_naming_it(api: Api) -> None:
    _, reader = make_key(api, ["images:read"], "reader")
    body = refused(
        call(api, "POST", "/images/generate", reader, json={"prompt": "a fox"}), 403, "insufficient_scope"
    )
    assert body["scope"] == "images:write"
    assert body["detail"] == "this request needs the scope 'images:write', which the credential does not hold"
    response = call(api, "POST", "/images/generate", reader, json={"prompt": "a fox"})
    assert response.headers["www-authenticate"] == (
        'Bearer realm="nexus-image", error="insufficient_scope", scope="images:write"'
    )
    assert call(api, "GET", "/images/user/me", reader).status_code == 200
    _, writer = make_key(api, ["images:write"], "writer")
    assert (
        refused(call(api, "GET", "/images/user/me", writer), 403, "insufficient_scope")["scope"]
        == "images:read"
    )
    assert (
        call(api, "POST", "/images/generate", writer, json={"prompt": "a fox", "steps": 2}).status_code == 201
    )


def test_naming_a_user_needs_on_behalf_of(api: Api) -> None:
    _, writer = make_key(api, WRITER, "writer")
    body = refused(call(api, "GET", "/images/user/me", writer, "alice"), 403, "insufficient_scope")
    assert body["scope"] == "on_behalf_of"
    jwt_call = api.request("GET", "/images/user/me", "mallory", headers={"X-On-Behalf-Of": "alice"})
    assert refused(jwt_call, 403, "insufficient_scope")["scope"] == "on_behalf_of"
    _, broker = make_key(api, BROKER, "broker")
    assert refused(call(api, "GET", "/images/user/me", broker, " \u200b "), 400, "invalid_request")[
        "field"
    ] == ("X-On-Behalf-Of")


@pytest.fixture
def timed(settings: Settings) -> Iterator[Api]:
    """The API on a manual clock (tokens are still checked against the real one)."""
    db = CountingStore()
    app = build_app(settings, db, clock=ManualClock(datetime.now(UTC)))
    with TestClient(http_app(app)) as client:
        yield Api(client, app, db, PatternGenerator(), settings)


def test_revoked_expired_unknown_and_malformed_keys_are_401_alike(timed: Api) -> None:
    api = timed
    _, expiring = make_key(api, WRITER, "soon", expires_in=timedelta(hours=1))
    key_id, key = make_key(api, WRITER, "doomed")
    assert call(api, "GET", "/images/user/me", key).status_code == 200
    api.app.manage_service_keys.revoke(key_id)
    texts = [key, key[:-2] + "xx", "nxi_sk_ffffffffffff_nothing", "nxi_nonsense"]
    for text in texts:
        body = refused(call(api, "GET", "/images/user/me", text), 401, "unauthenticated")
        assert body["detail"] == "invalid api key"
    assert call(api, "GET", "/images/user/me", expiring).status_code == 200
    clock = api.container.clock()
    assert isinstance(clock, ManualClock)
    clock.advance(hours=1)
    assert (
        refused(call(api, "GET", "/images/user/me", expiring), 401, "unauthenticated")["detail"]
        == "invalid api key"
    )


def test_a_keys_own_rate_limit_counts_every_route(api: Api) -> None:
    _, key = make_key(api, WRITER, "limited", rate_limit_per_minute=2)
    _, free = make_key(api, WRITER, "free")
    assert call(api, "GET", "/images/user/me", key).status_code == 200
    assert call(api, "GET", "/tokens/balance", key).status_code == 200
    response = call(api, "GET", "/albums", key)
    body = refused(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= 60 and body["retry_after"] >= 1
    assert all(call(api, "GET", "/images/user/me", free).status_code == 200 for _ in range(4))


def test_the_admin_routes_make_list_and_revoke_keys(api: Api) -> None:
    admin_id, admin = make_key(api, ["admin"], "ops")
    # not an operator: the operators' routes answer as missing ones
    assert refused(api.request("GET", "/admin/keys", "alice"), 404, "not_found")["detail"] == "Not Found"
    made = call(
        api,
        "POST",
        "/admin/keys",
        admin,
        json={"name": "billing", "scopes": ["images:read"], "user_id": "alice", "rate_limit_per_minute": 5},
    )
    assert made.status_code == 201, made.text
    created = made.json()
    assert created["token"].startswith(f"nxi_sk_{created['id']}_")
    assert (created["user_id"], created["scopes"], created["status"]) == ("alice", ["images:read"], "active")
    assert call(api, "GET", "/tokens/balance", created["token"]).json()["user_id"] == "alice"

    listed = call(api, "GET", "/admin/keys", admin).json()
    assert [k["id"] for k in listed] == [created["id"], admin_id]
    assert all("token" not in k and "secret_hash" not in k for k in listed)
    assert created["token"].split("_")[-1] not in str(listed)
    assert listed[0]["last_used_at"] is not None

    assert call(api, "DELETE", f"/admin/keys/{created['id']}", admin).status_code == 204
    assert refused(call(api, "GET", "/tokens/balance", created["token"]), 401, "unauthenticated")
    assert call(api, "GET", "/admin/keys", admin).json()[0]["status"] == "revoked"
    refused(call(api, "DELETE", "/admin/keys/ffffffffffff", admin), 404, "not_found")

    actions = [(a.action, a.target, a.via) for a in api.db.store.audit if a.action.startswith("service_key")]
    via = f"key:{admin_id} (ops)"
    assert actions == [
        ("service_key.create", f"key:{created['id']} (billing)", via),
        ("service_key.revoke", f"key:{created['id']} (billing)", via),
        ("service_key.revoke", "key:ffffffffffff", via),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "scopes": ["root"]}, "scopes"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "", "scopes": ["admin"]}, "name"),
        ({"name": "x", "scopes": ["admin"], "expires_in_seconds": 0}, "expires_in_seconds"),
        ({"name": "x", "scopes": ["admin"], "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "x", "scopes": ["admin"], "secret": "mine"}, "secret"),
    ],
)
def test_a_bad_key_request_names_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    _, admin = make_key(api, ["admin"], "ops")
    response = call(api, "POST", "/admin/keys", admin, json=body)
    assert response.status_code in (400, 422), response.text
    assert response.json()["field"] == field


def test_a_key_is_refused_a_websocket_without_images_read_and_served_with_it(api: Api) -> None:
    _, reader = make_key(api, ["images:read", "on_behalf_of"], "reader")
    _, writer = make_key(api, ["images:write"], "writer")
    with api.client.websocket_connect(f"{API}/ws") as ws:
        ws.send_json({"type": "auth", "token": reader, "on_behalf_of": "alice"})
        assert ws.receive_json() == {"type": "connected", "user_id": "alice"}
    with api.client.websocket_connect(f"{API}/ws") as ws:
        ws.send_json({"type": "auth", "token": writer})
        with pytest.raises(Exception, match="a valid token is required"):
            ws.receive_json()


class Connection:
    """What `act_for` reads of a request: its ASGI scope, as the guard left it."""

    def __init__(self, user: str, scopes: set[str], header: str | None = None) -> None:
        headers = [(b"x-on-behalf-of", header.encode())] if header else []
        caller = Caller(user, None, frozenset(scopes), "k", "svc", "key:k (svc)")
        self.scope: dict[str, Any] = {
            "user": user,
            "headers": headers,
            "auth": {
                "scopes": caller.scopes,
                "tier": None,
                "key_id": "k",
                "key_name": "svc",
                "caller": caller,
            },
        }


def test_act_for_names_the_user_only_with_on_behalf_of() -> None:
    # in a context of its own, as each request has: acting for a user binds it (and the key)
    contextvars.copy_context().run(act_for_cases)


def act_for_cases() -> None:
    assert act_for(Connection("service:svc", {"images:write"}), "end-user-42") == "service:svc"  # type: ignore[arg-type]
    assert act_for(Connection("alice", {"images:write", "webhooks", "images:read"}), "bob") == "alice"  # type: ignore[arg-type]
    broker = Connection("service:svc", {"images:write", "on_behalf_of"})
    assert act_for(broker, None) == "service:svc"  # type: ignore[arg-type]
    assert act_for(broker, " carol ") == "carol"  # type: ignore[arg-type]
    assert broker.scope["user"] == "carol"
    both = Connection("dave", {"images:write", "on_behalf_of"}, header="dave")
    assert act_for(both, "dave") == "dave"  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="different users"):
        act_for(both, "erin")  # type: ignore[arg-type]


def test_jwt_callers_keep_working_everywhere(api: Api) -> None:
    assert api.request("GET", "/images/user/me").status_code == 200
    assert api.client.get(f"{API}/images/user/me", headers=bearer("bob")).status_code == 200
