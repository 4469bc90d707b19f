"""A one-line progress bar on stderr, fed by progress events."""

from __future__ import annotations

import sys
from typing import TextIO

from nexus_image.domain.events import DomainEvent, GenerationProgress


class ProgressBar:
    def __init__(self, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.last = (0, 0)

    def publish(self, event: DomainEvent) -> None:
        if not isinstance(event, GenerationProgress) or event.total_steps <= 0:
            return
        self.last = (event.step, event.total_steps)
        done = int(self.width * event.step / event.total_steps)
        bar = "#" * done + "-" * (self.width - done)
        end = "\n" if event.step >= event.total_steps else ""
        self.stream.write(f"\rgenerating [{bar}] {event.step}/{event.total_steps}{end}")
        self.stream.flush()
