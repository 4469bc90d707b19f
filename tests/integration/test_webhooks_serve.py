"""Webhooks for real: `nexus-image serve` as a process posts to a receiver listening on
loopback (allowed by NEXUS_IMAGE_WEBHOOK_ALLOWED_NETWORKS), every message checked with the
Standard Webhooks reference verifier. A receiver that fails gets the same message again under
the same id; a redirect is not followed; and a receiver that was down while the server
restarted still gets what was owed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.support.serve import Server, mint_token, serve_env, wait_for
from tests.support.servers import free_port

pytestmark = pytest.mark.integration


class Receiver:
    """An HTTP server on loopback: `/flaky` answers 500 three times then 200, `/redirect`
    answers 302 to `/target`, anything else 200. Keeps every request it got."""

    def __init__(self, port: int = 0) -> None:
        self.got: list[tuple[str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with owner.lock:
                    owner.got.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    flaky = sum(1 for path, _, _ in owner.got if path == "/flaky")
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/target")
                elif self.path == "/flaky" and flaky <= 3:
                    self.send_response(500)
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def messages(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(h, b) for p, h, b in self.got if p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def env(tmp_path: Path, tiny_folder: Path) -> dict[str, str]:
    """The README's embedded server, loopback allowed, retries a fraction of a second apart."""
    return serve_env(
        tmp_path / "data",
        tiny_folder,
        webhook_allowed_networks="127.0.0.0/8",
        webhook_retry_schedule="0.3,0.3,0.3,0.5,1,1,1,1,1,1",
    )


@pytest.fixture
def client_for(env: dict[str, str]) -> Callable[[Server], httpx.Client]:
    headers = {"Authorization": f"Bearer {mint_token(env)}"}

    def client(server: Server) -> httpx.Client:
        return httpx.Client(base_url=server.url, headers=headers, timeout=30)

    return client


def generate(client: httpx.Client, **body: Any) -> str:
    answer = client.post("/api/v1/images/generate", json={"prompt": "a lighthouse", "steps": 2, **body})
    assert answer.status_code == 201, answer.text
    job: str = answer.json()["id"]
    return job


def verified(secret: str, messages: list[tuple[dict[str, str], bytes]]) -> list[dict[str, Any]]:
    return [Webhook(secret).verify(body, headers) for headers, body in messages]


def test_signed_events_retries_under_one_id_and_no_redirect_followed(
    server_factory: Callable[[], Server], client_for: Callable[[Server], httpx.Client]
) -> None:
    receiver = Receiver()
    try:
        server = server_factory()
        with client_for(server) as client:
            secret = client.get("/api/v1/webhooks/secret").json()["secret"]
            made = client.post(
                "/api/v1/webhooks/endpoints",
                json={"url": receiver.url("/redirect"), "events": ["generation.requested"]},
            ).json()
            plain = generate(client, webhook_url=receiver.url("/ok"))
            flaky = generate(
                client, webhook_url=receiver.url("/flaky"), webhook_events=["generation.completed"]
            )

            def ok_events() -> list[str]:
                return [m["type"] for m in verified(secret, receiver.messages("/ok"))]

            wait_for(lambda: "generation.completed" in ok_events(), 120, "the completed event")
            wait_for(lambda: len(receiver.messages("/flaky")) == 4, 60, "the fourth attempt")
            assert sorted(ok_events()) == [
                "generation.completed",
                "generation.requested",
                "generation.started",
            ]
            assert {m["data"]["image_id"] for m in verified(secret, receiver.messages("/ok"))} == {plain}
            ids = [h["webhook-id"] for h, _ in receiver.messages("/ok")]
            assert len(ids) == len(set(ids)) == 3  # each event once: nothing failed, nothing repeated
            retried = verified(secret, receiver.messages("/flaky"))

            def own_log() -> dict[str, Any]:
                logs = client.get(f"/api/v1/images/{flaky}/deliveries").json()
                (found,) = [d for d in logs if d["endpoint_id"] is None]  # the endpoint heard its request too
                return dict(found)

            # the receiver has the fourth attempt a moment before the sender records its answer
            wait_for(lambda: own_log()["status"] == "delivered", 30, "the fourth attempt to be recorded")
            log = own_log()
            assert {h["webhook-id"] for h, _ in receiver.messages("/flaky")} == {log["id"]}
            assert {m["data"]["image_id"] for m in retried} == {flaky}
            assert [a["status"] for a in log["attempts"]] == [500, 500, 500, 200] and log[
                "status"
            ] == "delivered"

            endpoint_secret = client.get(f"/api/v1/webhooks/endpoints/{made['id']}/secret").json()["secret"]
            wait_for(lambda: len(receiver.messages("/redirect")) >= 2, 30, "the redirect to be tried twice")
            assert (
                verified(endpoint_secret, receiver.messages("/redirect")[:1])[0]["type"]
                == "generation.requested"
            )
            assert receiver.messages("/target") == []
            logged = client.get(f"/api/v1/webhooks/endpoints/{made['id']}/deliveries").json()
            attempt = logged[0]["attempts"][0]
            assert attempt["status"] == 302 and "redirect not followed" in attempt["error"]
    finally:
        receiver.close()


def test_a_receiver_down_across_a_restart_gets_the_event_afterwards(
    server_factory: Callable[[], Server], client_for: Callable[[Server], httpx.Client]
) -> None:
    port = free_port()  # nothing listens there yet
    first = server_factory()
    with client_for(first) as client:
        job = generate(
            client, webhook_url=f"http://127.0.0.1:{port}/late", webhook_events=["generation.completed"]
        )

        def tried() -> bool:
            logged = client.get(f"/api/v1/images/{job}/deliveries").json()
            return bool(logged) and len(logged[0]["attempts"]) >= 1

        wait_for(tried, 120, "a failed attempt")
        (log,) = client.get(f"/api/v1/images/{job}/deliveries").json()
        assert log["attempts"][0]["status"] is None and "connect" in log["attempts"][0]["error"]
    first.stop()
    receiver = Receiver(port)
    try:
        second = server_factory()
        with client_for(second) as client:
            secret = client.get("/api/v1/webhooks/secret").json()["secret"]
            wait_for(lambda: bool(receiver.messages("/late")), 60, "the owed delivery")
            (message,) = verified(secret, receiver.messages("/late")[:1])
            assert message["type"] == "generation.completed" and message["data"]["image_id"] == job
            assert receiver.messages("/late")[0][0]["webhook-id"] == log["id"]
    finally:
        receiver.close()
