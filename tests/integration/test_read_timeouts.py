"""A real `nexus-image serve` bounds what a slow or silent client can hold: headers within the
header timeout, each part of a body within the body timeout, and a WebSocket message at 64 KiB;
a WebSocket, once upgraded, is not cut by the header timeout."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.support.serve import Server, mint_token, serve_env

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, tiny_folder: Path) -> Iterator[tuple[Server, str]]:
    data = tmp_path_factory.mktemp("timeouts")
    env = serve_env(
        data / "data", tiny_folder, embedded_worker="false",
        http_header_timeout_seconds="1", http_body_timeout_seconds="1",
    )  # fmt: skip
    server = Server(env, data / "serve.log")
    try:
        yield server, mint_token(env)
    finally:
        server.kill()


def answer_within(server: Server, sent: bytes, seconds: float) -> tuple[bytes, float]:
    """What the server sends back until it closes the connection, and how long that took."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=seconds) as sock:
        started = time.monotonic()
        sock.sendall(sent)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received, time.monotonic() - started


@pytest.mark.parametrize(
    "sent",
    [
        b"",
        b"GET /hea",
        b"GET /health HTTP/1.1\r\nHost: x\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: a",
    ],
)
def test_a_connection_whose_headers_never_end_is_closed_after_the_header_timeout(
    served: tuple[Server, str], sent: bytes
) -> None:
    received, took = answer_within(served[0], sent, 10)
    assert received.startswith(b"HTTP/1.1 408") and 0.8 < took < 5


def test_a_kept_alive_connection_starting_a_request_it_never_finishes_is_closed(
    served: tuple[Server, str],
) -> None:
    first = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    received, took = answer_within(served[0], first + b"GET /health HTTP/1.1\r\nHo", 10)
    assert received.startswith(b"HTTP/1.1 200") and received.count(b"HTTP/1.1 ") == 2
    assert b"HTTP/1.1 408" in received and 0.8 < took < 5


def test_a_body_that_stops_coming_is_a_408_and_nothing_is_charged(served: tuple[Server, str]) -> None:
    server, token = served
    head = (
        "POST /api/v1/images/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: 200\r\n\r\n"
    ).encode()
    received, took = answer_within(server, head + b'{"prompt": "a li', 10)
    assert received.startswith(b"HTTP/1.1 408"), received[:200]
    assert b"request_timeout" in received and 0.8 < took < 5
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            f"GET /api/v1/tokens/balance HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    balance = json.loads(reply.split(b"\r\n\r\n", 1)[1])["balance"]
    assert balance == 100  # the welcome grant, untouched


def test_a_websocket_outlives_the_header_timeout_and_refuses_a_frame_over_64_kib(
    served: tuple[Server, str],
) -> None:
    server, token = served
    url = f"ws://127.0.0.1:{server.port}/api/v1/ws"
    with connect(url, open_timeout=10) as ws:
        ws.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connected"
        time.sleep(1.5)  # past the header timeout
        ws.ping().wait(5)  # still open
    with connect(url, open_timeout=10) as ws:
        ws.send("x" * 100_000)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big
