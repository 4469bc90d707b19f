"""Which users are suspended, as every replica's guard sees it: the set is read at most every
`ttl` seconds (one small query, never one per request), so a suspension reaches every replica
within that time. A new generation is refused at once anyway: the charge's own transaction
reads the account."""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
import anyio.to_thread
import structlog

log = structlog.get_logger(__name__)


class Suspensions:
    def __init__(self, load: Callable[[], set[str]], ttl: float = 2.0) -> None:
        self._load = load
        self._ttl = ttl
        self._users: frozenset[str] = frozenset()
        self._read_at = -float("inf")
        self._lock = anyio.Lock()

    async def contains(self, user: str) -> bool:
        if time.monotonic() - self._read_at >= self._ttl:
            async with self._lock:
                if time.monotonic() - self._read_at >= self._ttl:
                    try:
                        self._users = frozenset(await anyio.to_thread.run_sync(self._load))
                    except Exception as error:  # the last known set stays; asked again after ttl
                        log.warning("suspended users not read", error=str(error))
                    self._read_at = time.monotonic()
        return user in self._users

    def forget(self) -> None:
        """Read again at the next request (this replica changed a suspension)."""
        self._read_at = -float("inf")
