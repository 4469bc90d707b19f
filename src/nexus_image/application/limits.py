"""Rate-limit arithmetic shared by every limiter, whichever store counts the hits."""

from __future__ import annotations


def refusal(limit: int, window: float, elapsed: float, current: int, previous: int) -> float | None:
    """Sliding-window counter: the previous fixed window counts in proportion to how much of it
    still overlaps the last `window` seconds. None when one more hit fits under `limit`;
    otherwise the seconds until it would (for Retry-After). A fixed window alone would let a
    client send twice the limit across a window boundary."""
    if previous * (1 - elapsed / window) + current + 1 <= limit:
        return None
    room = limit - 1 - current  # hits the previous window may still weigh, within this window
    if room >= 0 and previous > 0:
        fits_at = window * (1 - room / previous)
        if fits_at < window:
            return max(fits_at - elapsed, 0.0)
    # Not before the next window, where this window's hits become the weighted previous ones.
    next_fits_at = window * (1 - (limit - 1) / current) if current > limit - 1 else 0.0
    return (window - elapsed) + max(next_fits_at, 0.0)
