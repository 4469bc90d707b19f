"""Service keys: the domain's rules (properties for the ones security rests on) and the use
cases over the in-memory database with a manual clock."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_image.application.errors import NotFound, RateLimitExceeded
from nexus_image.application.ports import AuditRecord
from nexus_image.application.ports.audit import ACTING_VIA
from nexus_image.application.service_keys import CreateServiceKey, ManageServiceKeys, key_rate_key
from nexus_image.domain.errors import InvalidValue
from nexus_image.domain.service_key import (
    SCOPES,
    TOKEN_PREFIX,
    USER_SCOPES,
    InvalidApiKey,
    KeyToken,
    Scope,
    ServiceKey,
    hash_secret,
    may_act_for_others,
    parse_scopes,
)
from nexus_image.testing import ManualClock, MemoryStore

T0 = datetime(2026, 12, 1, tzinfo=UTC)
scope_sets = st.frozensets(st.sampled_from(sorted(SCOPES)), min_size=1)
moments = st.integers(-10_000, 10_000).map(lambda s: T0 + timedelta(seconds=s))
secrets_text = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=60)


def key(**fields: object) -> ServiceKey:
    values: dict[str, object] = {
        "id": "0123456789ab",
        "name": "billing",
        "secret_hash": hash_secret("s3cret"),
        "user_id": "service:billing",
        "scopes": frozenset({"images:read"}),
        "created_at": T0,
        **fields,
    }
    return ServiceKey(**values)  # type: ignore[arg-type]


# --- the domain ---------------------------------------------------------------------------------


@given(st.text(string.hexdigits[:16], min_size=12, max_size=12), secrets_text)
def test_a_token_parses_back_to_its_id_and_secret(key_id: str, secret: str) -> None:
    token = KeyToken(key_id, secret)
    assert token.text.startswith(TOKEN_PREFIX)
    assert KeyToken.parse(token.text) == token


@pytest.mark.parametrize(
    "text",
    ["nxi_sk_", "nxi_sk_0123456789ab", "nxi_sk_0123456789ab_", "nxi_sk_0123456789AB_x", "nxi_sk_0123_x", "x"],
)
def test_a_malformed_token_is_refused_without_a_lookup(text: str) -> None:
    with pytest.raises(InvalidApiKey) as caught:
        KeyToken.parse(text)
    assert caught.value.reason == "malformed" and str(caught.value) == "invalid api key"


@given(secrets_text, secrets_text)
def test_only_the_secret_whose_hash_is_kept_matches(kept: str, sent: str) -> None:
    assert key(secret_hash=hash_secret(kept)).matches(sent) == (kept == sent)


@given(moments, st.none() | moments, st.none() | moments)
def test_a_key_is_usable_exactly_before_its_expiry_and_revocation(
    now: datetime, expires_at: datetime | None, revoked_at: datetime | None
) -> None:
    if expires_at is not None and expires_at <= T0:
        expires_at = T0 + timedelta(seconds=1)
    found = key(expires_at=expires_at, revoked_at=revoked_at)
    usable = (expires_at is None or now < expires_at) and (revoked_at is None or now < revoked_at)
    assert found.usable_at(now) == usable
    if not usable:
        with pytest.raises(InvalidApiKey) as caught:
            found.check("s3cret", now)
        assert caught.value.reason in ("revoked", "expired")
        # revocation is named first: an operator's act says more than a date
        assert caught.value.reason == (
            "revoked" if revoked_at is not None and revoked_at <= now else "expired"
        )


@given(scope_sets)
def test_only_on_behalf_of_lets_a_caller_act_for_another_user(scopes: frozenset[str]) -> None:
    assert key(scopes=scopes).may_act_for_others() == (Scope.ON_BEHALF_OF in scopes)
    assert may_act_for_others(scopes) == ("on_behalf_of" in scopes)


def test_a_users_own_token_holds_the_user_scopes_only() -> None:
    assert frozenset({"images:read", "images:write", "webhooks"}) == USER_SCOPES
    assert not may_act_for_others(USER_SCOPES) and "admin" not in USER_SCOPES


@given(st.lists(st.sampled_from([*sorted(SCOPES), " Images:Read "]), min_size=1))
def test_scopes_parse_to_the_closed_set(values: list[str]) -> None:
    assert parse_scopes(values) <= SCOPES


@pytest.mark.parametrize("values", [[], ["images:delete"], ["admin", "root"]])
def test_unknown_or_no_scopes_are_refused_with_the_list(values: list[str]) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_scopes(values)
    assert caught.value.field == "scopes" and caught.value.allowed == tuple(sorted(SCOPES))


@given(moments, st.integers(0, 3600))
def test_use_is_written_down_at_most_once_a_minute(last: datetime, later: int) -> None:
    found = key(last_used_at=last)
    assert found.use_due(last + timedelta(seconds=later)) == (later >= 60)
    assert key().use_due(last)


@given(moments, moments)
def test_revoking_again_keeps_the_first_revocation(first: datetime, second: datetime) -> None:
    found = key()
    found.revoke(first)
    found.revoke(second)
    assert found.revoked_at == first


@pytest.mark.parametrize(
    "fields",
    [{"rate_limit_per_minute": 0}, {"expires_at": T0}, {"scopes": frozenset({"sudo"})}],
)
def test_a_key_that_could_never_be_right_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidValue):
        key(**fields)


def test_the_audit_names_the_key_by_id_and_name() -> None:
    assert key().label == "key:0123456789ab (billing)"


# --- the use cases ------------------------------------------------------------------------------


@pytest.fixture
def keys() -> ManageServiceKeys:
    return ManageServiceKeys(MemoryStore().unit_of_work, ManualClock(T0))


def test_a_key_is_created_shown_once_and_kept_hashed(keys: ManageServiceKeys) -> None:
    created = keys.create(CreateServiceKey("billing", ["images:read", "images:write"]))
    kept = keys.list_keys()[0]
    assert created.token.startswith(f"nxi_sk_{kept.id}_") and len(kept.id) == 12
    secret = created.token.removeprefix(f"nxi_sk_{kept.id}_")
    assert kept.secret_hash == hash_secret(secret) and secret not in repr(kept)
    assert kept.user_id == "service:billing" and kept.scopes == {"images:read", "images:write"}
    assert keys.authenticate(created.token).id == kept.id


def test_unknown_wrong_revoked_and_expired_keys_are_refused_alike(keys: ManageServiceKeys) -> None:
    clock = keys.clock
    assert isinstance(clock, ManualClock)
    live = keys.create(CreateServiceKey("a", ["images:read"], expires_in=timedelta(hours=1)))
    revoked = keys.create(CreateServiceKey("b", ["images:read"]))
    keys.revoke(revoked.key.id)
    reasons = {}
    for label, text in {
        "unknown": "nxi_sk_ffffffffffff_whatever",
        "wrong secret": live.token[:-1] + ("A" if live.token[-1] != "A" else "B"),
        "revoked": revoked.token,
    }.items():
        with pytest.raises(InvalidApiKey) as caught:
            keys.authenticate(text)
        reasons[label] = caught.value.reason
        assert str(caught.value) == "invalid api key"
    assert reasons == {"unknown": "unknown", "wrong secret": "wrong secret", "revoked": "revoked"}
    keys.authenticate(live.token)
    clock.advance(hours=1)
    with pytest.raises(InvalidApiKey, match="invalid api key"):
        keys.authenticate(live.token)
    states = {k.id: keys.state(k) for k in keys.list_keys()}
    assert states == {revoked.key.id: "revoked", live.key.id: "expired"}


def test_revoking_an_unknown_key_is_not_found_and_twice_keeps_the_first_time(keys: ManageServiceKeys) -> None:
    with pytest.raises(NotFound):
        keys.revoke("nope")
    created = keys.create(CreateServiceKey("a", ["admin"]))
    first = keys.revoke(created.key.id).revoked_at
    assert isinstance(keys.clock, ManualClock)
    keys.clock.advance(minutes=5)
    assert keys.revoke(created.key.id).revoked_at == first == T0


def test_last_use_is_kept_at_most_once_a_minute(keys: ManageServiceKeys) -> None:
    clock = keys.clock
    assert isinstance(clock, ManualClock)
    created = keys.create(CreateServiceKey("a", ["images:read"]))
    keys.authenticate(created.token)
    clock.advance(seconds=30)
    keys.authenticate(created.token)
    assert keys.list_keys()[0].last_used_at == T0
    clock.advance(seconds=30)
    keys.authenticate(created.token)
    assert keys.list_keys()[0].last_used_at == T0 + timedelta(minutes=1)


def test_a_keys_own_rate_limit_counts_every_request(keys: ManageServiceKeys) -> None:
    clock = keys.clock
    assert isinstance(clock, ManualClock)
    created = keys.create(CreateServiceKey("a", ["images:read"], rate_limit_per_minute=2))
    keys.authenticate(created.token)
    clock.advance(seconds=10)
    keys.authenticate(created.token)
    with pytest.raises(RateLimitExceeded) as caught:
        keys.authenticate(created.token)
    assert caught.value.wait == pytest.approx(50.0)
    clock.advance(seconds=50)
    keys.authenticate(created.token)
    assert key_rate_key(created.key.id) == f"apikey:{created.key.id}"


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (CreateServiceKey(" ", ["admin"]), "name"),
        (CreateServiceKey("a", ["admin"], user_id="\u200b"), "user_id"),
        (CreateServiceKey("a", ["nope"]), "scopes"),
        (CreateServiceKey("a", ["admin"], expires_in=timedelta(0)), "expires_in_seconds"),
        (CreateServiceKey("a", ["admin"], expires_at=T0 - timedelta(days=1)), "expires_at"),
        (CreateServiceKey("a", ["admin"], expires_at=T0, expires_in=timedelta(days=1)), "expires_at"),
        (CreateServiceKey("a", ["admin"], rate_limit_per_minute=0), "rate_limit_per_minute"),
    ],
)
def test_bad_keys_are_refused_naming_the_field(
    keys: ManageServiceKeys, command: CreateServiceKey, field: str
) -> None:
    with pytest.raises(InvalidValue) as caught:
        keys.create(command)
    assert caught.value.field == field
    assert keys.list_keys() == []


def test_a_key_may_be_a_named_user_canonically(keys: ManageServiceKeys) -> None:
    created = keys.create(CreateServiceKey(" billing  svc ", ["images:read"], user_id=" alice\u200b "))
    assert (created.key.name, created.key.user_id) == ("billing svc", "alice")


def test_audit_rows_name_the_credential_in_force() -> None:
    assert AuditRecord.cut("alice", "a", "t", "ok", T0, "").via == ""
    token = ACTING_VIA.set("key:0123456789ab (billing)")
    try:
        assert AuditRecord.cut("alice", "a", "t", "ok", T0, "").via == "key:0123456789ab (billing)"
        assert AuditRecord.cut("alice", "a", "t", "ok", T0, "", via="").via == ""
    finally:
        ACTING_VIA.reset(token)
