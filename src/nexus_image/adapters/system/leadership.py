"""One dispatcher at a time without a database server: a lock file (the embedded SQLite
deployment, where every process shares one data directory), or nobody else at all (memory)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class FileLeadership:
    """An exclusive `flock` on `path`: the kernel frees it when the holding process ends, however
    it ends, so another process's next `hold()` takes over."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def hold(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class SoleLeadership:
    """The only dispatcher there is (an in-memory deployment: one process)."""

    def hold(self) -> bool:
        return True

    def release(self) -> None:
        return None
