"""The webhook sender over real sockets: what a name resolves to is judged before connecting
(loopback refused unless allowed; one inside address among public ones refuses the name), the
connection goes to the address judged with the name as Host, and a slow receiver is cut off."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from nexus_image.adapters.httpclient.webhooks import HttpWebhookSender
from nexus_image.domain.webhooks import DestinationPolicy
from tests.integration.test_webhooks_serve import Receiver

pytestmark = pytest.mark.integration

NAME = "hooks.internal.example"


def resolving_to(*addresses: str) -> Any:
    def resolve(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        assert host == NAME
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    return resolve


def test_a_name_resolving_inside_is_refused_unless_its_range_is_allowed() -> None:
    receiver = Receiver()
    try:
        url = f"http://{NAME}:{receiver.port}/in"
        refused = HttpWebhookSender(DestinationPolicy(), resolve=resolving_to("127.0.0.1")).send(
            url, {}, b"{}"
        )
        assert (
            refused.permanent
            and refused.status_code is None
            and "destination refused" in (refused.error or "")
        )
        mixed = HttpWebhookSender(DestinationPolicy(), resolve=resolving_to("93.184.216.34", "10.0.0.7"))
        assert mixed.send(url, {}, b"{}").permanent
        assert receiver.messages("/in") == []
        allowed = HttpWebhookSender(DestinationPolicy.parse("127.0.0.0/8"), resolve=resolving_to("127.0.0.1"))
        sent = allowed.send(url, {"webhook-id": "msg_1"}, b'{"a":1}')
        assert sent.status_code == 200 and sent.error is None and not sent.permanent
        ((headers, body),) = receiver.messages("/in")
        assert body == b'{"a":1}' and headers["host"] == f"{NAME}:{receiver.port}"
        assert headers["webhook-id"] == "msg_1"
    finally:
        receiver.close()


def test_a_receiver_that_does_not_answer_in_time_is_a_failed_attempt_to_retry() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True).start()
    try:
        sender = HttpWebhookSender(DestinationPolicy.parse("127.0.0.1/32"), read_timeout=0.5)
        started = time.monotonic()
        result = sender.send(f"http://127.0.0.1:{listener.getsockname()[1]}/", {}, b"{}")
        assert time.monotonic() - started < 5
        assert result.status_code is None and not result.permanent and "timed out" in (result.error or "")
    finally:
        listener.close()
        for connection in held:
            connection.close()


def test_a_receiver_that_answers_a_byte_at_a_time_is_cut_off_at_the_attempts_deadline() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def drip() -> None:
        connection, _ = listener.accept()
        with connection:
            for byte in b"HTTP/1.1 200 OK\r\n" * 100:
                if stop.wait(0.2):
                    return
                try:
                    connection.send(bytes([byte]))
                except OSError:
                    return

    threading.Thread(target=drip, daemon=True).start()
    try:
        sender = HttpWebhookSender(
            DestinationPolicy.parse("127.0.0.1/32"), connect_timeout=0.5, read_timeout=0.5
        )
        started = time.monotonic()
        result = sender.send(f"http://127.0.0.1:{listener.getsockname()[1]}/", {}, b"{}")
        assert time.monotonic() - started < 3  # each read came in time; the whole did not
        assert result.status_code is None and "deadline" in (result.error or "")
    finally:
        stop.set()
        listener.close()
