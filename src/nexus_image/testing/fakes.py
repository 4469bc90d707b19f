"""In-memory stand-ins for the clock, ids, seeds, object storage and event destination."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from itertools import count

from nexus_image.application.errors import NotFound, QueueUnavailable, StorageUnavailable
from nexus_image.application.ports import ImageSafetyVerdict, RawImage, StoredObject
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


class InMemoryStorage:
    """Object storage in a dict; `available = False` makes every call fail like an outage."""

    def __init__(self, base_url: str = "memory://bucket") -> None:
        self.objects: dict[str, tuple[bytes, str, dict[str, str]]] = {}
        self.base_url = base_url
        self.available = True
        self._lock = threading.Lock()

    def _check(self) -> None:
        if not self.available:
            raise StorageUnavailable("object storage is unavailable")

    def put(self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> StoredObject:
        self._check()
        with self._lock:
            self.objects[key] = (bytes(data), content_type, dict(metadata))
        return StoredObject(key, len(data), content_type)

    def get(self, key: str) -> bytes:
        self._check()
        with self._lock:
            if key not in self.objects:
                raise NotFound("object", key)
            return self.objects[key][0]

    def delete(self, key: str) -> None:
        self._check()
        with self._lock:
            self.objects.pop(key, None)

    def url(self, key: str, public: bool) -> str:
        return f"{self.base_url}/{key}" + ("" if public else "?signed=1")


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
