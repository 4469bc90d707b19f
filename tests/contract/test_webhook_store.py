"""The webhook repository on every backend: endpoints (only their owner's), secrets, a
request's subscription, deliveries with their attempts, claiming what is due, and the outbox's
routing mark."""

from __future__ import annotations

from datetime import timedelta

from nexus_image.application.ports.webhooks import Subscription
from nexus_image.domain import GenerationRequested
from nexus_image.domain.webhooks import (
    DeliveryStatus,
    RetrySchedule,
    SigningSecrets,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    new_secret,
)
from tests.support.builders import T0

from .conftest import Backend


def _endpoint(endpoint_id: str, user: str) -> WebhookEndpoint:
    return WebhookEndpoint(
        endpoint_id,
        user,
        f"https://{user}.example/h",
        frozenset({WebhookEvent.COMPLETED}),
        SigningSecrets(new_secret()),
        T0,
        "mine",
    )


def _delivery(delivery_id: str, job: str, at_seconds: float, user: str = "alice") -> WebhookDelivery:
    return WebhookDelivery(
        delivery_id,
        user,
        job,
        "generation.completed",
        "https://a.example/",
        None,
        '{"a": 1}',
        T0,
        next_attempt_at=T0 + timedelta(seconds=at_seconds),
    )


def test_endpoints_are_their_owners_and_change_as_saved(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        uow.webhooks.add_endpoint(_endpoint("e1", "alice"))
        uow.webhooks.add_endpoint(_endpoint("e2", "bob"))
        uow.commit()
    with backend.uow_factory() as uow:
        found = uow.webhooks.endpoint("alice", "e1")
        assert found is not None and found.url == "https://alice.example/h" and found.description == "mine"
        assert uow.webhooks.endpoint("bob", "e1") is None
        assert [e.id for e in uow.webhooks.endpoints("alice")] == ["e1"]
        assert found is not None
        old = found.secrets.current
        found.secrets.rotate(T0, timedelta(hours=1))
        found.enabled = False
        uow.webhooks.save_endpoint(found)
        uow.commit()
    with backend.uow_factory() as uow:
        saved = uow.webhooks.endpoint("alice", "e1")
        assert saved is not None and not saved.enabled and saved.secrets.previous == old
        assert saved.secrets.previous_until == T0 + timedelta(hours=1)
        uow.webhooks.remove_endpoint("e1")
        uow.commit()
    with backend.uow_factory() as uow:
        assert uow.webhooks.endpoints("alice") == [] and len(uow.webhooks.endpoints("bob")) == 1


def test_account_secrets_and_subscriptions_are_kept(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        assert uow.webhooks.account_secrets("alice") is None
        uow.webhooks.save_account_secrets("alice", SigningSecrets("whsec_AAAA"))
        uow.webhooks.subscribe("j1", Subscription("https://a.example/", frozenset({WebhookEvent.FAILED})))
        uow.commit()
    with backend.uow_factory() as uow:
        secrets = uow.webhooks.account_secrets("alice")
        assert secrets is not None and secrets.current == "whsec_AAAA"
        secrets.rotate(T0, timedelta(minutes=5))
        uow.webhooks.save_account_secrets("alice", secrets)
        uow.commit()
        assert uow.webhooks.subscription("j1") == Subscription(
            "https://a.example/", frozenset({WebhookEvent.FAILED})
        )
        assert uow.webhooks.subscription("j2") is None
    with backend.uow_factory() as uow:
        again = uow.webhooks.account_secrets("alice")
        assert again is not None and again.previous == "whsec_AAAA"


def test_due_deliveries_are_claimed_and_attempts_appended(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        for n, at in enumerate((0, 10, -5)):
            uow.webhooks.add_delivery(_delivery(f"msg_{n}", "j1", at))
        uow.webhooks.add_delivery(_delivery("msg_bob", "j9", 0, user="bob"))
        uow.commit()
    with backend.uow_factory() as uow:
        due = uow.webhooks.due(T0, 10, T0 + timedelta(seconds=60))
        assert due[0].id == "msg_2" and {d.id for d in due[1:]} == {"msg_0", "msg_bob"}
        uow.commit()
    with backend.uow_factory() as uow:
        assert uow.webhooks.due(T0 + timedelta(seconds=30), 10, T0 + timedelta(seconds=90))[0].id == "msg_1"
        uow.commit()
    delivery = due[0]
    delivery.record(
        WebhookAttempt(1, T0, 500, 12, "answered 500", "oops"), RetrySchedule((5.0,), 0.0), 0.0, False
    )
    with backend.uow_factory() as uow:
        uow.webhooks.save_delivery(delivery)
        uow.commit()
    delivery.record(WebhookAttempt(2, T0, 200, 7), RetrySchedule((5.0,), 0.0), 0.0, False)
    with backend.uow_factory() as uow:
        uow.webhooks.save_delivery(delivery)
        uow.commit()
    with backend.uow_factory() as uow:
        stored = uow.webhooks.delivery(delivery.id)
        assert stored is not None and stored.status is DeliveryStatus.DELIVERED
        assert [(a.number, a.status_code, a.latency_ms, a.response) for a in stored.attempts] == [
            (1, 500, 12, "oops"),
            (2, 200, 7, ""),
        ]
        mine = uow.webhooks.deliveries("alice", job_id="j1")
        assert {d.id for d in mine} == {"msg_0", "msg_1", "msg_2"}
        assert uow.webhooks.deliveries("bob", job_id="j1") == []


def test_events_are_routed_once(backend: Backend) -> None:
    event = GenerationRequested(event_id="e1", job_id="j1", user_id="alice", occurred_at=T0)
    with backend.uow_factory() as uow:
        uow.outbox.add(event)
        uow.commit()
    with backend.uow_factory() as uow:
        (record,) = uow.outbox.unrouted(10)
        assert record.event == event
        uow.outbox.mark_routed([record.position], T0)
        uow.commit()
    with backend.uow_factory() as uow:
        assert uow.outbox.unrouted(10) == []
        assert [r.event for r in uow.outbox.pending(10)] == [event]  # the relay's mark is its own


def test_a_senders_save_holds_only_while_its_claim_does(backend: Backend) -> None:
    with backend.uow_factory() as uow:
        uow.webhooks.add_delivery(_delivery("msg_c", "j1", 0))
        uow.commit()
    first_claim = T0 + timedelta(seconds=60)
    with backend.uow_factory() as uow:
        (mine,) = uow.webhooks.due(T0, 10, first_claim)
        uow.commit()
    mine.next_attempt_at = first_claim
    schedule = RetrySchedule((5.0,), 0.0)
    # the claim lapses: another sender claims it, delivers it and records that
    with backend.uow_factory() as uow:
        (theirs,) = uow.webhooks.due(T0 + timedelta(seconds=61), 10, T0 + timedelta(seconds=121))
        uow.commit()
    theirs.record(WebhookAttempt(1, T0, 200, 5), schedule, 0.0, False)
    with backend.uow_factory() as uow:
        assert uow.webhooks.save_delivery(theirs, T0 + timedelta(seconds=121))
        uow.commit()
    mine.record(WebhookAttempt(1, T0, 500, 5, "answered 500"), schedule, 0.0, False)
    with backend.uow_factory() as uow:
        assert not uow.webhooks.save_delivery(mine, first_claim)
        uow.commit()
    with backend.uow_factory() as uow:
        stored = uow.webhooks.delivery("msg_c")
        assert stored is not None and stored.status is DeliveryStatus.DELIVERED
        assert [a.status_code for a in stored.attempts] == [200]
