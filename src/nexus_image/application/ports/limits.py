"""Per-key rate limits, whichever store keeps the hits."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class RateLimiter(Protocol):
    """The in-process limiter (one process) and the SQL one (shared by replicas) fit this: at
    most `limit` accepted hits per key in any `window` seconds (the arithmetic is in
    application/limits.py)."""

    def hit(self, key: str) -> float | None:
        """Count one hit for `key`: None when allowed, else the seconds to wait (a refused hit
        is not counted)."""

    def undo(self, key: str) -> None:
        """Forget the most recent accepted hit of `key`: for a request that turned out not to
        use its slot (refused later for its balance, or an idempotent replay). Nothing to
        forget is not an error."""
