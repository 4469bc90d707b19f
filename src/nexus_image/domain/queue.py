"""Where a queued job stands: its position and an estimate of when it will be ready."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

DURATION_SAMPLE = 50


def mean_generation_seconds(runs: Iterable[tuple[datetime | None, datetime | None]]) -> float | None:
    """The mean of (started, completed) runs; None with no complete sample."""
    durations = [(done - began).total_seconds() for began, done in runs if began and done and done >= began]
    return sum(durations) / len(durations) if durations else None


def estimate_wait(position: int, workers: int, mean_seconds: float | None) -> int | None:
    """Seconds until a job at `position` (1 = next) is ready, when `workers` take jobs one at a
    time and each takes `mean_seconds`: the rounds of work ahead of it, its own included.
    None when nothing is known yet about how long a generation takes."""
    if mean_seconds is None or position < 1:
        return None
    rounds = math.ceil(position / max(1, workers))
    return max(1, round(rounds * mean_seconds))
