"""Real clock, ids and seeds; the doorbells that wake the outbox relay and the dispatcher; the
dispatcher's lock without a database server."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

from nexus_image.adapters.system.doorbell import Chime, Doorbell, RingingUnitOfWork, ringing
from nexus_image.adapters.system.leadership import FileLeadership, SoleLeadership
from nexus_image.domain.parameters import MAX_SEED


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class UuidGenerator:
    def new_id(self) -> str:
        return str(uuid.uuid4())


class RandomSeeds:
    def random_seed(self) -> int:
        return secrets.randbelow(MAX_SEED + 1)


__all__ = [
    "Chime",
    "Doorbell",
    "FileLeadership",
    "RandomSeeds",
    "RingingUnitOfWork",
    "SoleLeadership",
    "SystemClock",
    "UuidGenerator",
    "ringing",
]
