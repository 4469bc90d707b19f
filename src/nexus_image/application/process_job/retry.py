"""The one retry policy of the worker's object storage calls, for reads and writes alike."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from nexus_image.application.errors import StorageUnavailable

T = TypeVar("T")


@dataclass(slots=True)
class StorageRetry:
    """A storage call that finds the storage unavailable is made again after each of `delays`;
    after the last, the error stands. Any other error (a missing object) is final at once.

    One instance serves every stage of a worker, so the delays (and, in tests, the sleep) are
    set in one place."""

    delays: Sequence[float] = (0.2, 0.5, 1.0)
    sleep: Callable[[float], None] = field(default=time.sleep)

    def __call__(self, call: Callable[[], T]) -> T:
        waits = iter(self.delays)
        while True:
            try:
                return call()
            except StorageUnavailable:
                delay = next(waits, None)
                if delay is None:
                    raise
                self.sleep(delay)
