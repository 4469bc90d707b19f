"""Rate limiting at the edge: the Retry-After a refusal carries."""

from __future__ import annotations

import math

from nexus_image.application.limits import generation_key
from nexus_image.application.ports import RateLimiter
from nexus_image.entrypoints.http.errors import RateLimited

__all__ = ["RateLimiter", "count_request", "retry_after_header"]


def retry_after_header(seconds: float) -> int:
    """Whole seconds, at least 1: Retry-After takes integers and 0 would invite a busy loop."""
    return max(1, math.ceil(seconds))


def count_request(limiter: RateLimiter, user: str) -> None:
    """One request against the user's generation rate limit; RateLimited (429) past it."""
    wait = limiter.hit(generation_key(user))
    if wait is not None:
        raise RateLimited(retry_after_header(wait))
