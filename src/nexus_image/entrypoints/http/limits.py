"""Rate limiting at the edge: the Retry-After a refusal carries."""

from __future__ import annotations

import math

from nexus_image.application.ports import RateLimiter

__all__ = ["RateLimiter", "retry_after_header"]


def retry_after_header(seconds: float) -> int:
    """Whole seconds, at least 1: Retry-After takes integers and 0 would invite a busy loop."""
    return max(1, math.ceil(seconds))
