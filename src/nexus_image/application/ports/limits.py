"""Per-key rate limits, whichever store counts the hits."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class RateLimiter(Protocol):
    """The in-process limiter (one process) and the SQL one (shared by replicas) fit this."""

    def hit(self, key: str) -> float | None:
        """Count one hit for `key`: None when allowed, else the seconds to wait."""
