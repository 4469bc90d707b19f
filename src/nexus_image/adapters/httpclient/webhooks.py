"""Sending a webhook without letting its URL reach inside the service's network.

The host is resolved once, every address it resolves to is judged by the policy (one refused
address refuses the destination, so a name cannot mix a public address with a private one),
and the connection goes to an address so judged: a second lookup cannot answer differently
(DNS rebinding). TLS still checks the certificate against the host's name. Redirects are never
followed (a 3xx is a failed attempt), the whole attempt is bounded in time (a receiver that
answers a byte at a time is cut off at the deadline), at most three addresses are tried, and
only the start of the answer is kept."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from nexus_image.application.ports.webhooks import SendResult
from nexus_image.domain.webhooks import DestinationPolicy

MAX_RESPONSE_BYTES = 1024
MAX_ADDRESSES = 3  # tried in turn when connecting fails
Resolver = Callable[..., list[tuple[Any, ...]]]


class HttpWebhookSender:
    def __init__(
        self,
        policy: DestinationPolicy,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        resolve: Resolver = socket.getaddrinfo,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.resolve = resolve
        self.tls = tls

    def send(self, url: str, headers: Mapping[str, str], body: bytes) -> SendResult:
        started = time.monotonic()

        def result(
            status: int | None, error: str | None, response: str = "", permanent: bool = False
        ) -> SendResult:
            latency = int((time.monotonic() - started) * 1000)
            return SendResult(status, latency, error, response[:MAX_RESPONSE_BYTES], permanent)

        parts = urlsplit(url)
        secure = parts.scheme == "https"
        host = parts.hostname or ""
        port = parts.port or (443 if secure else 80)
        if parts.scheme not in ("http", "https") or not host:
            return result(None, "not an http(s) URL", permanent=True)
        try:
            found = self.resolve(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            return result(None, f"cannot resolve {host}: {error}")
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        for address in addresses:
            refusal = self.policy.refusal(address)
            if refusal is not None:
                return result(None, f"destination refused: {host} resolves to {refusal}", permanent=True)
        try:
            connection = self._connect(host, port, addresses[:MAX_ADDRESSES], secure)
        except (OSError, ssl.SSLError) as error:
            return result(None, f"cannot connect to {host}:{port}: {error}")
        # The read timeout bounds each read; the deadline bounds them all together.
        left = max(0.1, self.connect_timeout + self.read_timeout - (time.monotonic() - started))
        cut = threading.Event()  # set before the connection is ended: a failure after it is the deadline's
        deadline = threading.Timer(left, _cut, (connection, cut))
        deadline.daemon = True
        deadline.start()
        try:
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            connection.request("POST", path, body=body, headers=dict(headers))
            answer = connection.getresponse()
            text = answer.read(MAX_RESPONSE_BYTES).decode("utf-8", "replace")
            problem = None
            if 300 <= answer.status < 400:
                problem = f"redirect not followed (Location: {answer.getheader('location', '')[:200]})"
            elif not 200 <= answer.status < 300:
                problem = f"answered {answer.status}"
            return result(answer.status, problem, text)
        except (OSError, http.client.HTTPException) as error:
            if cut.is_set():
                return result(None, "timed out: no complete answer within the attempt's deadline")
            return result(None, f"{type(error).__name__}: {error}")
        finally:
            deadline.cancel()
            connection.close()

    def _connect(
        self, host: str, port: int, addresses: list[str], secure: bool
    ) -> http.client.HTTPConnection:
        last: OSError | None = None
        for address in addresses:
            try:
                raw = socket.create_connection((address, port), timeout=self.connect_timeout)
            except OSError as error:
                last = error
                continue
            raw.settimeout(self.read_timeout)
            sock: socket.socket = raw
            if secure:
                context = self.tls or ssl.create_default_context()
                sock = context.wrap_socket(raw, server_hostname=host)
            connection = (http.client.HTTPSConnection if secure else http.client.HTTPConnection)(
                host, port, timeout=self.read_timeout
            )
            connection.sock = sock  # already connected to the judged address
            return connection
        raise last or OSError(f"{host} has no address")


def _cut(connection: http.client.HTTPConnection, cut: threading.Event) -> None:
    """The attempt's deadline passed: end the connection, so that the read in progress fails
    (`cut` is set first, so that failure is told as the deadline's)."""
    cut.set()
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
