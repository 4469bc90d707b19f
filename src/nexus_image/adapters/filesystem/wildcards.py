"""The operator's wildcards: the `.txt` files of one folder and its subfolders, an option a line.

`colors.txt` is `__colors__`, `animals/cats.txt` is `__animals/cats__`. Blank lines and lines
starting with `#` are skipped. A file is read once, and again when it changes."""

from __future__ import annotations

import threading
from pathlib import Path

from nexus_image.domain.dynamic_prompt_syntax import is_wildcard_name

SUFFIX = ".txt"


def read_lines(text: str) -> list[str]:
    stripped = (line.strip() for line in text.splitlines())
    return [line for line in stripped if line and not line.startswith("#")]


class WildcardFolder:
    """The wildcards under `folder` (a `WildcardSource`). No folder: no wildcards. A name that
    would leave the folder (`..`, a link to elsewhere) is no wildcard; so is a file whose name a
    template cannot spell."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder.resolve() if folder is not None else None
        self._read: dict[str, tuple[tuple[int, int], list[str]]] = {}  # name: (mtime, size), lines
        self._lock = threading.Lock()  # requests read it from several threads

    def names(self) -> list[str]:
        if self.folder is None or not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.rglob(f"*{SUFFIX}"):
            name = path.relative_to(self.folder).as_posix()[: -len(SUFFIX)]
            if is_wildcard_name(name) and self._inside(path) and path.is_file():
                found.append(name)
        return sorted(found)

    def lines(self, name: str) -> list[str] | None:
        path = self._path(name)
        try:
            stat = path.stat() if path is not None else None
        except OSError:
            stat = None
        if path is None or stat is None or not path.is_file():
            with self._lock:
                self._read.pop(name, None)
            return None
        # The size too: an edit within the clock's resolution keeps the time.
        version = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._read.get(name)
        if cached is not None and cached[0] == version:
            return list(cached[1])
        try:
            lines = read_lines(path.read_text(encoding="utf-8-sig", errors="replace"))
        except OSError:
            return None
        with self._lock:
            self._read[name] = (version, lines)
        return list(lines)

    def _path(self, name: str) -> Path | None:
        if self.folder is None or not is_wildcard_name(name):
            return None
        path = self.folder / f"{name}{SUFFIX}"  # the name's segments are checked: no `..`
        return path if self._inside(path) else None

    def _inside(self, path: Path) -> bool:
        assert self.folder is not None
        try:
            return path.resolve().is_relative_to(self.folder)
        except (OSError, RuntimeError):  # a loop of links
            return False
