"""The service key repository, and the audit trail's `via`, the same on every adapter."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from nexus_image.adapters.sqlalchemy.tables import audit_log
from nexus_image.application.errors import Conflict
from nexus_image.application.ports import AuditRecord
from nexus_image.domain.service_key import ServiceKey, hash_secret
from tests.support.builders import T0

from .conftest import Backend


def make_key(key_id: str, created_after: int = 0, **fields: object) -> ServiceKey:
    values: dict[str, object] = {
        "id": key_id,
        "name": f"svc {key_id}",
        "secret_hash": hash_secret(f"secret-{key_id}"),
        "user_id": f"service:{key_id}",
        "scopes": frozenset({"images:read", "on_behalf_of"}),
        "created_at": T0 + timedelta(seconds=created_after),
        **fields,
    }
    return ServiceKey(**values)  # type: ignore[arg-type]


def add(backend: Backend, *keys: ServiceKey) -> None:
    with backend.uow_factory() as uow:
        for key in keys:
            uow.service_keys.add(key)
        uow.commit()


def test_a_key_round_trips_every_field(backend: Backend) -> None:
    full = make_key(
        "aaaaaaaaaaaa",
        expires_at=T0 + timedelta(days=30),
        last_used_at=T0 + timedelta(minutes=1),
        rate_limit_per_minute=7,
    )
    add(backend, full, make_key("bbbbbbbbbbbb"))
    with backend.uow_factory() as uow:
        assert uow.service_keys.get("aaaaaaaaaaaa") == full
        assert uow.service_keys.get("bbbbbbbbbbbb") == make_key("bbbbbbbbbbbb")
        assert uow.service_keys.get("cccccccccccc") is None


def test_keys_are_listed_newest_first_and_a_taken_id_is_refused(backend: Backend) -> None:
    add(backend, make_key("k1", 1), make_key("k3", 3), make_key("k2", 2))
    with backend.uow_factory() as uow:
        assert [k.id for k in uow.service_keys.list_all()] == ["k3", "k2", "k1"]
    with pytest.raises(Conflict):
        add(backend, make_key("k2", 9))


def test_nothing_is_kept_without_a_commit(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        uow.service_keys.add(make_key("k1"))
        assert uow.service_keys.get("k1") is not None  # the unit sees its own writes
    with backend.uow_factory() as uow:
        assert uow.service_keys.list_all() == []


def test_a_use_never_undoes_a_revocation_committed_meanwhile(backend: Backend) -> None:
    add(backend, make_key("k1"))
    revoked_at, used_at = T0 + timedelta(minutes=2), T0 + timedelta(minutes=3)
    with backend.uow_factory() as using:
        assert using.service_keys.get("k1") is not None  # read before the revocation
        with backend.uow_factory() as revoking:
            revoking.service_keys.record_revocation("k1", revoked_at)
            revoking.commit()
        using.service_keys.record_use("k1", used_at)
        using.commit()
    with backend.uow_factory() as uow:
        found = uow.service_keys.get("k1")
    assert found is not None and (found.revoked_at, found.last_used_at) == (revoked_at, used_at)


def test_the_first_revocation_stands(backend: Backend) -> None:
    add(backend, make_key("k1"))
    for minutes in (5, 9):
        with backend.uow_factory() as uow:
            uow.service_keys.record_revocation("k1", T0 + timedelta(minutes=minutes))
            uow.commit()
    with backend.uow_factory() as uow:
        found = uow.service_keys.get("k1")
    assert found is not None and found.revoked_at == T0 + timedelta(minutes=5)


def test_an_audit_row_keeps_the_key_it_came_through(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        uow.audit.record(
            AuditRecord.cut("alice", "image.delete", "j1", "success", T0, "", via="key:k1 (svc)")
        )
        uow.audit.record(AuditRecord.cut("bob", "image.delete", "j2", "success", T0, ""))
        uow.commit()
    # the audit log has no reading port: its rows are read as each store keeps them
    if backend.name == "memory":
        store = backend.uow_factory.__self__  # type: ignore[attr-defined]
        rows = [(entry.actor, entry.via) for entry in store.audit]
    else:
        with backend.uow_factory() as uow:
            statement = sa.select(audit_log.c.actor, audit_log.c.via).order_by(audit_log.c.id)
            rows = [tuple(row) for row in uow.execute(statement).all()]  # type: ignore[attr-defined]
    assert rows == [("alice", "key:k1 (svc)"), ("bob", "")]
