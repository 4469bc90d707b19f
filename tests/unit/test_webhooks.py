"""Webhook use cases on the in-memory adapters: the outbox's events become deliveries for the
destinations that want them, are sent signed, retried under the same id, logged, replayed;
and nobody sees another user's endpoints or deliveries."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from nexus_image.application.errors import NotFound
from nexus_image.application.ports.webhooks import SendResult
from nexus_image.application.webhook_endpoints import ManageWebhooks
from nexus_image.application.webhooks import DeliverWebhooks, RouteWebhookEvents
from nexus_image.domain.errors import InvalidValue
from nexus_image.domain.webhooks import DestinationPolicy, RetrySchedule
from nexus_image.testing import SequentialIds
from tests.unit.conftest import World

HOOK = "https://hooks.example/in"


@dataclass
class Receiver:
    """A WebhookSender that answers as scripted (then 200) and keeps what it was sent."""

    answers: list[int] = field(default_factory=list)
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def send(self, url: str, headers: Mapping[str, str], body: bytes) -> SendResult:
        self.received.append((url, dict(headers), body))
        status = self.answers.pop(0) if self.answers else 200
        return SendResult(status, 1, None if status < 300 else f"answered {status}")


@dataclass
class Hooks:
    world: World
    receiver: Receiver
    route: RouteWebhookEvents
    deliver: DeliverWebhooks
    manage: ManageWebhooks

    def pump(self) -> None:
        self.route.drain()
        self.deliver.drain()

    def later(self, seconds: float) -> None:
        self.world.clock.advance(seconds=seconds)
        self.pump()


@pytest.fixture
def hooks(world: World) -> Hooks:
    receiver = Receiver()
    uow, clock = world.store.unit_of_work, world.clock
    return Hooks(
        world,
        receiver,
        RouteWebhookEvents(uow, clock, SequentialIds("w")),
        DeliverWebhooks(uow, clock, receiver, RetrySchedule((5.0, 60.0, 600.0), jitter=0.0), parallel=1),
        ManageWebhooks(uow, clock, SequentialIds("e"), DestinationPolicy()),
    )


def _stamp(headers: dict[str, str]) -> datetime:
    return datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=UTC)


def events(receiver: Receiver) -> list[str]:
    return [json.loads(body)["type"] for _, _, body in receiver.received]


def test_each_subscribed_event_of_a_request_reaches_its_url_signed_with_the_account_secret(
    hooks: Hooks,
) -> None:
    job = hooks.world.request(webhook_url=HOOK).id
    hooks.pump()
    assert events(hooks.receiver) == ["generation.requested"]
    hooks.world.run_queue()
    hooks.pump()
    assert events(hooks.receiver) == ["generation.requested", "generation.started", "generation.completed"]
    reference = Webhook(hooks.manage.account_secrets("alice").current)
    for url, headers, body in hooks.receiver.received:
        assert url == HOOK
        assert headers["webhook-signature"] == reference.sign(headers["webhook-id"], _stamp(headers), body)
        assert json.loads(body)["data"]["image_id"] == job
    assert len({h["webhook-id"] for _, h, _ in hooks.receiver.received}) == 3


def test_the_signature_sent_is_the_one_the_reference_verifier_expects(hooks: Hooks) -> None:
    hooks.world.request(webhook_url=HOOK, webhook_events=["generation.requested"])
    hooks.pump()
    (_, headers, body), secret = hooks.receiver.received[0], hooks.manage.account_secrets("alice").current
    expected = Webhook(secret).sign(headers["webhook-id"], _stamp(headers), body)
    assert headers["webhook-signature"] == expected


def test_a_filter_keeps_the_other_events_away_and_endpoints_get_what_they_subscribe_to(hooks: Hooks) -> None:
    endpoint = hooks.manage.create("alice", "https://platform.example/images", ["generation.completed"])
    hooks.manage.create("bob", "https://bob.example/", None)  # bob's endpoint hears nothing of alice
    hooks.world.request(webhook_url=HOOK, webhook_events=["generation.started"])
    hooks.world.run_queue()
    hooks.pump()
    sent = sorted((url, json.loads(body)["type"]) for url, _, body in hooks.receiver.received)
    assert sent == [(HOOK, "generation.started"), ("https://platform.example/images", "generation.completed")]
    logged = hooks.manage.endpoint_deliveries("alice", endpoint.id)
    assert [d.status.value for d in logged] == ["delivered"]


def test_failures_are_retried_on_the_schedule_under_the_same_id_and_logged(hooks: Hooks) -> None:
    hooks.receiver.answers = [500, 503, 502]
    job = hooks.world.request(webhook_url=HOOK, webhook_events=["generation.requested"]).id
    hooks.pump()
    hooks.later(4)
    assert len(hooks.receiver.received) == 1  # not before its time
    hooks.later(1)
    hooks.later(60)
    hooks.later(600)
    ids = {h["webhook-id"] for _, h, _ in hooks.receiver.received}
    bodies = {b for _, _, b in hooks.receiver.received}
    assert len(hooks.receiver.received) == 4 and len(ids) == 1 and len(bodies) == 1
    (delivery,) = hooks.manage.job_deliveries("alice", job)
    assert [a.status_code for a in delivery.attempts] == [500, 503, 502, 200]
    assert delivery.status.value == "delivered" and delivery.attempts[0].error == "answered 500"


def test_a_delivery_that_ran_out_of_retries_can_be_replayed_with_the_same_id(hooks: Hooks) -> None:
    hooks.receiver.answers = [500] * 4
    job = hooks.world.request(webhook_url=HOOK, webhook_events=["generation.requested"]).id
    hooks.pump()
    for wait in (5, 60, 600):
        hooks.later(wait)
    (failed,) = hooks.manage.job_deliveries("alice", job)
    assert failed.status.value == "failed" and len(failed.attempts) == 4
    hooks.later(10_000)
    assert len(hooks.receiver.received) == 4  # given up
    with pytest.raises(NotFound):
        hooks.manage.replay("bob", failed.id)
    hooks.manage.replay("alice", failed.id)
    hooks.pump()
    (done,) = hooks.manage.job_deliveries("alice", job)
    assert done.status.value == "delivered" and len(done.attempts) == 5
    assert hooks.receiver.received[-1][1]["webhook-id"] == failed.id


def test_another_users_endpoints_and_deliveries_answer_like_missing_ones(hooks: Hooks) -> None:
    endpoint = hooks.manage.create("alice", HOOK)
    job = hooks.world.request(webhook_url=HOOK).id
    for peek in (
        lambda: hooks.manage.get("bob", endpoint.id),
        lambda: hooks.manage.update("bob", endpoint.id, enabled=False),
        lambda: hooks.manage.delete("bob", endpoint.id),
        lambda: hooks.manage.rotate("bob", endpoint.id),
        lambda: hooks.manage.endpoint_deliveries("bob", endpoint.id),
        lambda: hooks.manage.job_deliveries("bob", job),
    ):
        with pytest.raises(NotFound) as missing:
            peek()
        assert "not found" in str(missing.value)
    assert hooks.manage.endpoints("bob") == []


def test_a_disabled_endpoint_hears_nothing_and_a_deleted_one_is_not_signed_for(hooks: Hooks) -> None:
    endpoint = hooks.manage.create("alice", HOOK, ["generation.requested"])
    hooks.manage.update("alice", endpoint.id, enabled=False)
    hooks.world.request()
    hooks.pump()
    assert hooks.receiver.received == []
    hooks.manage.update("alice", endpoint.id, enabled=True)
    job = hooks.world.request().id
    hooks.route.drain()  # made, then the endpoint goes before it is sent
    hooks.manage.delete("alice", endpoint.id)
    hooks.deliver.drain()
    assert hooks.receiver.received == []
    (dropped,) = hooks.manage.job_deliveries("alice", job)
    assert dropped.status.value == "failed" and dropped.attempts[0].error == "endpoint deleted"


def test_endpoint_urls_are_checked_and_inside_addresses_refused(hooks: Hooks) -> None:
    for bad in ("ftp://a.example/", "http://127.0.0.1:9000/", "http://169.254.169.254/latest"):
        with pytest.raises(InvalidValue):
            hooks.manage.create("alice", bad)
    with pytest.raises(InvalidValue, match="webhook_url"):
        hooks.world.request(webhook_url="http://10.0.0.5/hook")
    assert hooks.world.balance() == 100  # nothing charged for a refused request


def test_a_rotated_endpoint_secret_signs_beside_the_old_one(hooks: Hooks) -> None:
    endpoint = hooks.manage.create("alice", HOOK, ["generation.requested"])
    old = endpoint.secrets.current
    new = hooks.manage.rotate("alice", endpoint.id).secrets.current
    hooks.world.request()
    hooks.pump()
    signatures = hooks.receiver.received[0][1]["webhook-signature"].split(" ")
    assert len(signatures) == 2 and old != new


def test_an_endpoints_delivery_follows_its_url_as_it_is_at_each_attempt(hooks: Hooks) -> None:
    endpoint = hooks.manage.create("alice", "https://old.example/in", ["generation.requested"])
    hooks.receiver.answers = [500]
    job = hooks.world.request().id
    hooks.pump()
    hooks.manage.update("alice", endpoint.id, url="https://new.example/in")
    hooks.later(5)
    assert [url for url, _, _ in hooks.receiver.received] == [
        "https://old.example/in",
        "https://new.example/in",
    ]
    hooks.manage.update("alice", endpoint.id, enabled=False)
    hooks.world.request()
    hooks.route.drain()
    (delivered,) = hooks.manage.job_deliveries("alice", job)
    assert delivered.status.value == "delivered"


def test_a_disabled_endpoints_queued_delivery_is_dropped_not_sent(hooks: Hooks) -> None:
    endpoint = hooks.manage.create("alice", HOOK, ["generation.requested"])
    job = hooks.world.request().id
    hooks.route.drain()
    hooks.manage.update("alice", endpoint.id, enabled=False)
    hooks.deliver.drain()
    assert hooks.receiver.received == []
    (dropped,) = hooks.manage.job_deliveries("alice", job)
    assert dropped.status.value == "failed" and dropped.attempts[0].error == "endpoint disabled"


def test_an_attempt_whose_claim_lapsed_is_not_recorded_over_the_one_that_took_over(hooks: Hooks) -> None:
    """A sender slower than its claim: another one takes the delivery over and delivers it; the
    slow one's outcome does not put it back to pending."""
    world = hooks.world
    other = DeliverWebhooks(
        world.store.unit_of_work, world.clock, Receiver(), RetrySchedule((5.0,), 0.0), parallel=1
    )

    class Slow(Receiver):
        def send(self, url: str, headers: Mapping[str, str], body: bytes) -> SendResult:
            world.clock.advance(seconds=61)  # the claim (60 s) lapses meanwhile
            assert other.execute() == 1  # and the delivery is taken over, delivered
            return SendResult(500, 61_000, "answered 500")

    slow = DeliverWebhooks(
        world.store.unit_of_work, world.clock, Slow(), RetrySchedule((5.0,), 0.0), parallel=1
    )
    job = world.request(webhook_url=HOOK, webhook_events=["generation.requested"]).id
    hooks.route.drain()
    assert slow.execute() == 1
    (delivery,) = hooks.manage.job_deliveries("alice", job)
    assert delivery.status.value == "delivered" and [a.status_code for a in delivery.attempts] == [200]


def test_a_filter_without_a_url_is_refused_rather_than_ignored(hooks: Hooks) -> None:
    with pytest.raises(InvalidValue) as refused:
        hooks.world.request(webhook_events=["generation.completed"])
    assert refused.value.field == "webhook_events"
    assert hooks.world.balance() == 100
