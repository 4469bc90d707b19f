"""What the HTTP layer may watch of the models besides the catalog: which pipelines this
server holds in memory (the embedded worker's) and the download a first run started."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ModelWatch:
    loaded: Callable[[], list[str]] | None = None  # model names in memory; None: no worker here
    download: Callable[[], dict[str, Any] | None] | None = None  # the pull in progress or last
