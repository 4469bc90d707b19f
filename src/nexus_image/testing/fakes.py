"""In-memory stand-ins for the clock, ids, seeds, object storage and event destination."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from itertools import count

from nexus_image.application.errors import QueueUnavailable
from nexus_image.application.ports import ImageSafetyVerdict, RawImage
from nexus_image.domain.events import DomainEvent


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


class SequentialIds:
    def __init__(self, prefix: str = "id") -> None:
        self._counter = count(1)
        self._lock = threading.Lock()
        self.prefix = prefix

    def new_id(self) -> str:
        with self._lock:
            return f"{self.prefix}-{next(self._counter):06d}"


class FixedSeeds:
    def __init__(self, seed: int = 1234) -> None:
        self.seed = seed

    def random_seed(self) -> int:
        return self.seed


class CollectingPublisher:
    """Keeps published events in order; `available = False` simulates a broker outage."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []
        self.available = True
        self._lock = threading.Lock()

    def publish(self, event: DomainEvent) -> None:
        if not self.available:
            raise QueueUnavailable("broker unavailable")
        with self._lock:
            self.events.append(event)


class ScriptedImageChecker:
    """An output check whose verdicts the test decides: `flag` every image (or none), or
    `fail` like a broken detector; `checked` counts the images it saw."""

    def __init__(
        self,
        *,
        flag: bool = True,
        score: float = 0.93,
        labels: tuple[str, ...] = ("FEMALE_BREAST_EXPOSED",),
        fail: Exception | None = None,
    ) -> None:
        self.flag = flag
        self.score = score
        self.labels = labels
        self.fail = fail
        self.checked = 0

    @property
    def name(self) -> str:
        return "scripted"

    def check(self, image: RawImage) -> ImageSafetyVerdict:
        self.checked += 1
        if self.fail is not None:
            raise self.fail
        if not self.flag:
            return ImageSafetyVerdict(True, 0.05, (), self.name)
        return ImageSafetyVerdict(False, self.score, self.labels, self.name)
