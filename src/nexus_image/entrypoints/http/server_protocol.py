"""uvicorn's HTTP/1.1 protocol with a deadline for a request's headers: a connection that opens
and sends nothing, or half a request line, or headers that never end, is closed after
`NEXUS_IMAGE_HTTP_HEADER_TIMEOUT_SECONDS` (uvicorn itself waits forever for them). The body's
own timeout is the request middleware's (observability.py)."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\nconnection: close\r\n"
    b"content-length: 30\r\n\r\nthe request headers took long\n"
)


@functools.cache
def header_timeout() -> float:
    """From the settings, read once per process (each `serve --workers` process reads its own)."""
    from nexus_image.entrypoints.settings import Settings

    return float(Settings().http_header_timeout_seconds)


class HeaderTimeoutProtocol(H11Protocol):
    """The deadline runs while no request is being answered: from the connection's start, and
    again from the first byte after a response on a kept-alive connection, until the headers
    of a request are complete."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._headers_due: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._headers_due is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()  # a next request on a kept-alive connection has begun
        super().data_received(data)
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm()  # its headers are in: the request is being answered

    def on_response_complete(self) -> None:
        super().on_response_complete()
        waiting = self.cycle is None or self.cycle.response_complete
        if waiting and self.conn.trailing_data[0] and not self.transport.is_closing():
            self._arm()  # part of a next request came with the last one: it has begun

    def handle_websocket_upgrade(self, event: Any) -> None:
        self._disarm()  # the WebSocket protocol takes the connection over, with its own limits
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._headers_due = self.loop.call_later(header_timeout(), self._headers_late)

    def _disarm(self) -> None:
        if self._headers_due is not None:
            self._headers_due.cancel()
            self._headers_due = None

    def _headers_late(self) -> None:
        self._headers_due = None
        if not self.transport.is_closing():
            self.transport.write(TIMEOUT_RESPONSE)
            self.transport.close()
