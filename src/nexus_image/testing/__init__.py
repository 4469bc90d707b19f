"""Fakes of the ports for tests, ours and other services': they behave like the real adapters
(transactions and rollback, version conflicts, outages on demand) without any server. The
in-memory database, storage and pattern generator are production adapters of the memory role
(`nexus_image.adapters.memory`), re-exported here for tests.

- `MemoryStore` / `MemoryUnitOfWork`: the database, with transactions and optimistic versions.
- `InMemoryStorage`: object storage in a dict (`available = False` simulates an outage).
- `CollectingPublisher`: keeps published events (`available = False`: broker down).
- `ManualClock`, `SequentialIds`, `FixedSeeds`: time, ids and seeds under the test's control.
- `PatternGenerator`: a fast deterministic generator with no model.
- `ScriptedImageChecker`: an output check that flags (or passes, or fails) as told.

To get the real use cases on top of them: `nexus_image.in_memory_service(...)`, or
`nexus_image.compose("memory", ...)` with any of these passed as overrides."""

from nexus_image.adapters.memory.database import MemoryStore, MemoryUnitOfWork
from nexus_image.adapters.memory.pattern import PatternGenerator
from nexus_image.adapters.memory.storage import InMemoryStorage
from nexus_image.testing.fakes import (
    CollectingPublisher,
    FixedSeeds,
    ManualClock,
    ScriptedImageChecker,
    SequentialIds,
)

__all__ = [
    "CollectingPublisher",
    "FixedSeeds",
    "InMemoryStorage",
    "ManualClock",
    "MemoryStore",
    "MemoryUnitOfWork",
    "PatternGenerator",
    "ScriptedImageChecker",
    "SequentialIds",
]
