"""The queue gauges, fed by a loop: a scrape reads the last counts and never queries the
database, so a database outage leaves the gauges at their last value instead of failing /metrics."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from nexus_image.adapters.prometheus.metrics import PrometheusMetrics

log = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0


class QueueGauges:
    """Every `every_seconds` (in a daemon thread, from `start()` to `stop()`), sets the queue
    gauges of `metrics` from `counts` (job counts by status). A failed read is logged and the
    last values are kept."""

    def __init__(
        self,
        metrics: PrometheusMetrics,
        counts: Callable[[], Mapping[str, int]],
        every_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self.metrics = metrics
        self.counts = counts
        self.every_seconds = every_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> bool:
        """One read now: whether it succeeded (on failure the gauges keep their last values)."""
        try:
            counts = self.counts()
        except Exception as error:  # an outage must not stop the loop
            log.warning("queue gauges not refreshed: %s", error)
            return False
        self.metrics.queue_counts(counts)
        return True

    def _run(self) -> None:
        # The first read waits one period too: a process that just started is not held up.
        while not self._stop.wait(self.every_seconds):
            self.refresh()

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="queue-gauges", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
