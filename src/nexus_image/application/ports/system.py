"""Time, identifiers and randomness."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC."""


class IdGenerator(Protocol):
    def new_id(self) -> str: ...


class SeedSource(Protocol):
    def random_seed(self) -> int: ...
