"""The webhook rules: Standard Webhooks signatures (checked by the reference verifier), secret
rotation, the retry schedule, and which destinations may be reached."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from nexus_image.domain.errors import InvalidValue
from nexus_image.domain.webhooks import (
    DeliveryStatus,
    DestinationPolicy,
    RetrySchedule,
    SigningSecrets,
    WebhookAttempt,
    WebhookDelivery,
    check_url,
    checked_destination,
    events_of,
    new_secret,
    signature_header,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def headers(secrets: list[str], body: bytes, message_id: str = "msg_1") -> dict[str, str]:
    stamp = int(time.time())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature_header(secrets, message_id, stamp, body),
    }


@given(st.binary(max_size=512), st.text(alphabet="abcdef0123456789", min_size=1, max_size=32))
def test_the_reference_verifier_accepts_our_signatures_and_nothing_altered(body: bytes, suffix: str) -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    sent = headers([secret], body, f"msg_{suffix}")
    Webhook(secret).verify(body, sent, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b"x", sent, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, sent, json_parse=False)


def test_during_a_rotation_both_secrets_sign_and_after_the_grace_only_the_new_one() -> None:
    secrets = SigningSecrets(new_secret())
    old = secrets.current
    secrets.rotate(NOW, timedelta(hours=1))
    assert secrets.current != old
    valid = secrets.valid(NOW + timedelta(minutes=59))
    assert valid == [secrets.current, old]
    body = b'{"type":"generation.completed"}'
    sent = headers(valid, body)
    Webhook(old).verify(body, sent, json_parse=False)  # a receiver not switched yet
    Webhook(secrets.current).verify(body, sent, json_parse=False)
    assert secrets.valid(NOW + timedelta(hours=1)) == [secrets.current]


@given(st.integers(min_value=1, max_value=8), st.floats(min_value=0, max_value=0.999))
def test_retries_back_off_within_the_jitter_and_stop_when_the_schedule_ends(made: int, draw: float) -> None:
    schedule = RetrySchedule()
    wait = schedule.delay(made, draw)
    if made >= schedule.attempts:
        assert wait is None
    else:
        base = schedule.delays[made - 1]
        assert wait is not None and base * 0.8 <= wait <= base * 1.2
    assert sum(schedule.delays) > 24 * 3600  # retried over hours (Standard Webhooks' schedule)


def _delivery() -> WebhookDelivery:
    return WebhookDelivery(
        "msg_x", "alice", "job", "generation.completed", "https://a.example/", None, "{}", NOW
    )


def test_a_delivery_is_done_on_2xx_retried_on_failure_and_given_up_at_the_end() -> None:
    schedule = RetrySchedule((1.0, 2.0), jitter=0.0)
    delivery = _delivery()

    def after(attempt: WebhookAttempt) -> tuple[DeliveryStatus, datetime | None]:
        delivery.record(attempt, schedule, 0.5, permanent=False)
        return delivery.status, delivery.next_attempt_at

    assert after(WebhookAttempt(1, NOW, 500, 3)) == (DeliveryStatus.PENDING, NOW + timedelta(seconds=1))
    assert after(WebhookAttempt(2, NOW, None, 3, "timeout")) == (
        DeliveryStatus.PENDING,
        NOW + timedelta(seconds=2),
    )
    assert after(WebhookAttempt(3, NOW, 503, 3)) == (DeliveryStatus.FAILED, None)
    delivery.replay(NOW)
    assert (delivery.status, delivery.next_attempt_at) == (DeliveryStatus.PENDING, NOW)
    assert after(WebhookAttempt(4, NOW, 204, 3)) == (DeliveryStatus.DELIVERED, None)
    refused = _delivery()
    refused.record(WebhookAttempt(1, NOW, None, 0, "refused"), schedule, 0.5, permanent=True)
    assert refused.status is DeliveryStatus.FAILED


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.1.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "0.0.0.0",
        "100.64.0.1",
        "::ffff:127.0.0.1",
        "fd00:ec2::254",
        "224.0.0.1",
    ],
)
def test_inside_addresses_are_refused_unless_their_range_is_allowed(address: str) -> None:
    assert DestinationPolicy().refusal(address) is not None
    allowed = DestinationPolicy.parse(
        "127.0.0.0/8, 10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,169.254.0.0/16,"
        "::1/128,fe80::/10,fc00::/7,0.0.0.0/32,100.64.0.0/10,224.0.0.0/4"
    )
    assert allowed.refusal(address) is None


@pytest.mark.parametrize("address", ["64:ff9b::a9fe:a9fe", "64:ff9b::a00:5", "::7f00:1", "2002:a00:5::1"])
def test_ipv6_forms_carrying_an_inside_ipv4_address_are_refused(address: str) -> None:
    assert DestinationPolicy().refusal(address) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "64:ff9b::808:808"])
def test_public_addresses_may_be_reached(address: str) -> None:
    assert DestinationPolicy().refusal(address) is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://a.example/x",
        "file:///etc/passwd",
        "https://",
        "a.example/hook",
        "http://a.example:0/",
        "http://a.example:99999/",
        "https://a.example/#frag",
        "https://a .example/",
        "gopher://a.example/",
        "http://[abc/",
    ],
)
def test_webhook_urls_must_be_absolute_http_urls(url: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        check_url(url)
    assert refused.value.field == "webhook_url"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/h",
        "http://localhost/h",
        "http://[::1]/",
        "http://10.0.0.8/",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f.1/",
    ],
)
def test_a_url_naming_an_inside_address_is_refused_at_once(url: str) -> None:
    with pytest.raises(InvalidValue, match="refused"):
        checked_destination(url, DestinationPolicy())
    assert checked_destination(url, DestinationPolicy.parse("127.0.0.0/8,::1/128,10.0.0.0/8")) == url


def test_no_filter_means_every_event_and_unknown_events_are_named() -> None:
    assert len(events_of(None)) == 6 and events_of([]) == events_of(None)
    assert {e.value for e in events_of(["generation.completed"])} == {"generation.completed"}
    with pytest.raises(InvalidValue, match="generation.completed"):
        events_of(["done"])
