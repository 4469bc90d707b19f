"""In-memory adapters for every port, behaving like the real ones (errors, ordering, rollback)."""

from nexus_image.adapters.memory.generator import PatternGenerator
from nexus_image.adapters.memory.queue import InMemoryQueue
from nexus_image.adapters.memory.services import (
    CollectingPublisher,
    FixedSeeds,
    InMemoryStorage,
    ManualClock,
    SequentialIds,
)
from nexus_image.adapters.memory.store import MemoryStore, MemoryUnitOfWork

__all__ = [
    "CollectingPublisher",
    "FixedSeeds",
    "InMemoryQueue",
    "InMemoryStorage",
    "ManualClock",
    "MemoryStore",
    "MemoryUnitOfWork",
    "PatternGenerator",
    "SequentialIds",
]
