"""Progress on stderr, fed by progress events: a one-line bar redrawn in place on a terminal;
elsewhere (logs, pipes, CI) a few plain lines, one per quarter of the run, and no `\\r`."""

from __future__ import annotations

import sys
from typing import TextIO

from nexus_image.domain.events import DomainEvent, GenerationProgress

PLAIN_STEPS = 4  # plain lines per run when the stream is not a terminal: 25 %, 50 %, 75 %, 100 %


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class ProgressBar:
    def __init__(self, stream: TextIO | None = None, width: int = 30, tty: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = _is_terminal(self.stream) if tty is None else tty
        self.last = (0, 0)
        self._job = ""
        self._printed = 0  # quarters already printed for this job (plain mode)

    def publish(self, event: DomainEvent) -> None:
        if not isinstance(event, GenerationProgress) or event.total_steps <= 0:
            return
        if event.job_id != self._job or event.step < self.last[0]:  # another job, or a retry
            self._job, self._printed = event.job_id, 0
        self.last = (event.step, event.total_steps)
        if self.tty:
            self._draw(event.step, event.total_steps)
        else:
            self._line(event.step, event.total_steps)

    def _bar(self, step: int, total: int) -> str:
        done = int(self.width * step / total)
        return f"generating [{'#' * done}{'-' * (self.width - done)}] {step}/{total}"

    def _draw(self, step: int, total: int) -> None:
        end = "\n" if step >= total else ""
        self.stream.write(f"\r{self._bar(step, total)}{end}")
        self.stream.flush()

    def _line(self, step: int, total: int) -> None:
        reached = min(PLAIN_STEPS, step * PLAIN_STEPS // total)
        if reached <= self._printed:
            return
        self._printed = reached
        self.stream.write(f"{self._bar(step, total)} ({100 * reached // PLAIN_STEPS}%)\n")
        self.stream.flush()
