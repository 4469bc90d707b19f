"""How a pull reports its progress: to a terminal bar, to the status file, to both."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Told as a pull goes. `advanced` may be negative: bytes counted before and downloaded again
    (a server that would not resume)."""

    def started(self, total_bytes: int, files: int, done_bytes: int = 0) -> None: ...

    def advanced(self, n_bytes: int) -> None: ...

    def file_done(self, path: str) -> None: ...

    def finished(self) -> None: ...

    def failed(self, error: str) -> None: ...


class NoProgress:
    def started(self, total_bytes: int, files: int, done_bytes: int = 0) -> None:
        pass

    def advanced(self, n_bytes: int) -> None:
        pass

    def file_done(self, path: str) -> None:
        pass

    def finished(self) -> None:
        pass

    def failed(self, error: str) -> None:
        pass


class Both:
    """Tells each of several listeners, in order."""

    def __init__(self, *listeners: Progress) -> None:
        self.listeners = listeners

    def started(self, total_bytes: int, files: int, done_bytes: int = 0) -> None:
        for listener in self.listeners:
            listener.started(total_bytes, files, done_bytes)

    def advanced(self, n_bytes: int) -> None:
        for listener in self.listeners:
            listener.advanced(n_bytes)

    def file_done(self, path: str) -> None:
        for listener in self.listeners:
            listener.file_done(path)

    def finished(self) -> None:
        for listener in self.listeners:
            listener.finished()

    def failed(self, error: str) -> None:
        for listener in self.listeners:
            listener.failed(error)
