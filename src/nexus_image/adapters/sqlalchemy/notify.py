"""Across processes on PostgreSQL: a transaction that writes outbox rows also sends
`NOTIFY nexus_image_outbox` (delivered only when it commits); `OutboxListener` holds a
connection of its own that LISTENs and rings a doorbell, so a relay in another process wakes
the moment work is committed instead of at its next poll."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

CHANNEL = "nexus_image_outbox"


class OutboxListener:
    """Rings `ring` on every notification; reconnects after a lost connection (ringing once on
    reconnect, since notifications sent meanwhile are gone). A daemon thread between `start()`
    and `stop()`."""

    def __init__(self, engine: Engine, ring: Callable[[], None], reconnect_seconds: float = 1.0) -> None:
        self.engine = engine
        self.ring = ring
        self.reconnect_seconds = reconnect_seconds
        self.listening = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="outbox-listener", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception as error:  # the database went away: the relay still polls meanwhile
                self.listening.clear()
                log.warning("outbox listener lost its connection (%s); reconnecting", error)
                self._stop.wait(self.reconnect_seconds)

    def _listen(self) -> None:
        raw: Any = self.engine.raw_connection()
        try:
            connection = raw.driver_connection
            connection.autocommit = True
            connection.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            self.ring()  # anything committed while we were not listening
            while not self._stop.is_set():
                for _ in connection.notifies(timeout=0.5, stop_after=1):
                    self.ring()
        finally:
            self.listening.clear()
            raw.invalidate() if hasattr(raw, "invalidate") else raw.close()
