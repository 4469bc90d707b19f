"""The operator's upscalers: the model files of one folder, by file name, and Lanczos."""

from __future__ import annotations

import json
import logging
import re
import struct
from pathlib import Path

from nexus_image.adapters.upscaling.layout import NotEsrgan, canonical, read_architecture
from nexus_image.application.ports import LANCZOS, UpscalerInfo
from nexus_image.domain.errors import UnknownUpscaler

log = logging.getLogger(__name__)

UPSCALER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
SUFFIXES = (".safetensors", ".pth")  # in this order: a name with both files is its safetensors
MAX_HEADER_BYTES = 16 * 2**20  # an RRDBNet's header is a few dozen KiB

Stamp = tuple[int, int]  # a file's mtime_ns and size: when either changes, it is read again


def _header_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """A safetensors file's tensor shapes, from its JSON header (no tensor is read)."""
    with path.open("rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        if length > MAX_HEADER_BYTES:
            raise NotEsrgan(f"a header of {length} bytes")
        header = json.loads(handle.read(length))
    return {key: tuple(entry["shape"]) for key, entry in header.items() if key != "__metadata__"}


class UpscalerFolder:
    """Lanczos, and every `NAME.safetensors` or `NAME.pth` directly in `folder` whose NAME is
    a valid upscaler name. A safetensors file is offered only when its header is an ESRGAN
    network's (and then with its scale); a `.pth` cannot be read without running torch, so it
    is offered unread (scale unknown) and a wrong one fails when it is used. No folder: Lanczos
    alone. Importing this needs no torch."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._read: dict[Path, tuple[Stamp, UpscalerInfo | None]] = {}

    def available(self) -> list[UpscalerInfo]:
        found = [UpscalerInfo(LANCZOS, None, "lanczos", None)]
        for name, path in sorted(self._files().items()):
            info = self._describe(name, path)
            if info is not None:
                found.append(info)
        return found

    def locate(self, name: str) -> Path | None:
        """The file of an offered upscaler (None for Lanczos); any other name is refused with
        the names offered."""
        if name == LANCZOS:
            return None
        path = self._files().get(name)
        if path is None or self._describe(name, path) is None:
            allowed = tuple(info.name for info in self.available())
            raise UnknownUpscaler(
                "upscaler", f"unknown upscaler {name!r}; allowed: {', '.join(allowed)}", allowed
            )
        return path

    def _files(self) -> dict[str, Path]:
        if self.folder is None or not self.folder.is_dir():
            return {}
        files: dict[str, Path] = {}
        for suffix in reversed(SUFFIXES):  # the preferred suffix last, so it wins
            for path in self.folder.glob(f"*{suffix}"):
                if path.is_file() and UPSCALER_NAME.fullmatch(path.stem) and path.stem != LANCZOS:
                    files[path.stem] = path
        return files

    def _describe(self, name: str, path: Path) -> UpscalerInfo | None:
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        known = self._read.get(path)
        if known is not None and known[0] == stamp:
            return known[1]
        info: UpscalerInfo | None = UpscalerInfo(name, None, "esrgan", stat.st_size)
        if path.suffix == ".safetensors":
            try:
                scale = read_architecture(canonical(_header_shapes(path))).scale
                info = UpscalerInfo(name, scale, "esrgan", stat.st_size)
            except (NotEsrgan, OSError, ValueError, KeyError, TypeError, struct.error) as reason:
                log.warning("upscaler file %s is not offered: %s", path, reason)
                info = None
        self._read[path] = (stamp, info)
        return info
