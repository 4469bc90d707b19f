"""The state of the current or last pull, in a file any process can read (`.downloads/status.json`):
the web studio shows a pull the CLI runs. A pull whose process died reads as failed."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATES = ("checking", "downloading", "verifying", "installed", "failed")
FINAL = frozenset({"installed", "failed"})
WRITE_EVERY = 0.25  # seconds: at most about four writes a second while bytes flow


@dataclass(frozen=True, slots=True)
class DownloadStatus:
    name: str
    source: str
    state: str  # one of STATES
    bytes_done: int
    bytes_total: int
    bytes_per_second: float
    error: str | None
    started_at: datetime
    updated_at: datetime
    pid: int

    @property
    def final(self) -> bool:
        return self.state in FINAL

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"], data["updated_at"] = self.started_at.isoformat(), self.updated_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DownloadStatus:
        return cls(
            name=str(data["name"]),
            source=str(data["source"]),
            state=str(data["state"]),
            bytes_done=int(data["bytes_done"]),
            bytes_total=int(data["bytes_total"]),
            bytes_per_second=float(data["bytes_per_second"]),
            error=None if data.get("error") is None else str(data["error"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
            pid=int(data["pid"]),
        )


def alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def read_status(path: Path) -> DownloadStatus | None:
    """The status in `path`; a pull left unfinished by a process that is gone reads as failed."""
    try:
        status = DownloadStatus.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not status.final and not alive(status.pid):
        return replace(status, state="failed", error="interrupted: the pull's process is gone")
    return status


def write_status(path: Path, status: DownloadStatus) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(status.to_json()), encoding="utf-8")
    os.replace(partial, path)


class StatusRecorder:
    """A Progress that keeps the status file current: "checking" from the start, "downloading"
    with bytes and speed, "verifying" once every file is in, then "installed" or "failed"."""

    def __init__(
        self, path: Path, name: str, source: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.path, self.clock = path, clock
        now = datetime.now(UTC)
        self.status = DownloadStatus(name, source, "checking", 0, 0, 0.0, None, now, now, os.getpid())
        self._files = self._done_files = 0
        self._since, self._since_bytes, self._written = clock(), 0, float("-inf")
        self._save(force=True)

    def started(self, total_bytes: int, files: int, done_bytes: int = 0) -> None:
        self._files, self._since, self._since_bytes = files, self.clock(), done_bytes
        self._set(
            state="downloading" if files else "verifying", bytes_total=total_bytes, bytes_done=done_bytes
        )
        self._save(force=True)

    def advanced(self, n_bytes: int) -> None:
        done = self.status.bytes_done + n_bytes
        if n_bytes < 0:
            self._since_bytes = min(self._since_bytes, done)
        elapsed = self.clock() - self._since
        speed = (done - self._since_bytes) / elapsed if elapsed > 0 else 0.0
        self._set(bytes_done=done, bytes_per_second=max(0.0, speed))
        self._save()

    def file_done(self, path: str) -> None:
        self._done_files += 1
        if self._done_files >= self._files:
            self._set(state="verifying")
            self._save(force=True)

    def finished(self) -> None:
        self._set(state="installed", bytes_done=self.status.bytes_total)
        self._save(force=True)

    def failed(self, error: str) -> None:
        self._set(state="failed", error=error)
        self._save(force=True)

    def _set(self, **changes: Any) -> None:
        self.status = replace(self.status, updated_at=datetime.now(UTC), **changes)

    def _save(self, force: bool = False) -> None:
        now = self.clock()
        if force or now - self._written >= WRITE_EVERY:
            self._written = now
            write_status(self.path, self.status)
