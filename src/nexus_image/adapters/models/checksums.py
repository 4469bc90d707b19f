"""How a file is known to be the one the hub lists: LFS files by the sha256 of their content,
small files kept in git by their git blob id (sha1 of `blob <size>\\0` then the content)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from nexus_image.adapters.models.hub import RepoFile

CHUNK = 1 << 20


def git_blob_sha1(content: bytes) -> str:
    """The id git gives a file with this content (what the hub lists as `blobId`)."""
    return str(blob_hasher(len(content), content).hexdigest())


def blob_hasher(size: int, content: bytes = b"") -> Any:
    """A sha1 primed with git's blob header for a file of `size` bytes; feed it the content."""
    digest = hashlib.sha1(b"blob %d\0" % size, usedforsecurity=False)
    digest.update(content)
    return digest


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class Expected:
    """The checksum a repository file must have, fed chunk by chunk as it downloads."""

    def __init__(self, file: RepoFile) -> None:
        self.file = file
        self._digest: Any
        if file.sha256:
            self.kind, self.value, self._digest = "sha256", file.sha256.lower(), hashlib.sha256()
        elif file.blob_id:
            self.kind, self.value, self._digest = "git-sha1", file.blob_id.lower(), blob_hasher(file.size)
        else:  # nothing listed to check against: the size alone
            self.kind, self.value, self._digest = "size", "", None

    def update(self, chunk: bytes) -> None:
        if self._digest is not None:
            self._digest.update(chunk)

    def feed_file(self, path: Path, limit: int) -> None:
        """Feed the first `limit` bytes of `path` (what an earlier attempt already downloaded)."""
        left = limit
        with path.open("rb") as stream:
            while left > 0 and (chunk := stream.read(min(CHUNK, left))):
                self.update(chunk)
                left -= len(chunk)

    def actual(self) -> str:
        return "" if self._digest is None else str(self._digest.hexdigest())

    def matches(self) -> bool:
        return self.actual() == self.value

    def describe(self, value: str) -> str:
        return f"{self.kind} {value}" if value else "(no checksum)"
