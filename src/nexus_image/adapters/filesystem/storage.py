"""Objects as files under a root folder; writes are atomic (temp file + rename)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from nexus_image.application.errors import NotFound, StorageUnavailable
from nexus_image.application.ports import ListedObject, StoredObject

META_SUFFIX = ".meta.json"


class FileStorage:
    def __init__(self, root: Path, base_url: str | None = None) -> None:
        self.root = root.resolve()
        self.base_url = base_url

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"object key {key!r} escapes the storage root")
        return path

    def put(self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> StoredObject:
        path = self.path(key)
        try:
            fd, tmp = self._temporary(path)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
            meta = {"content_type": content_type, "metadata": dict(metadata)}
            path.with_name(path.name + ".meta.json").write_text(json.dumps(meta))
        except OSError as error:
            raise StorageUnavailable(f"cannot write {key}: {error}") from error
        return StoredObject(key, len(data), content_type)

    @staticmethod
    def _temporary(path: Path) -> tuple[int, str]:
        """A temporary file beside `path`, its folder made first (again, if a delete removed it
        as empty in between)."""
        for attempt in (1, 2):
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                return tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            except FileNotFoundError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise NotFound("object", key) from None
        except OSError as error:
            raise StorageUnavailable(f"cannot read {key}: {error}") from error

    def delete(self, key: str) -> None:
        path = self.path(key)
        for candidate in (path, path.with_name(path.name + ".meta.json")):
            try:
                candidate.unlink()
            except FileNotFoundError:
                pass
            except OSError as error:
                raise StorageUnavailable(f"cannot delete {key}: {error}") from error
        self._prune(path.parent)

    def _prune(self, folder: Path) -> None:
        """Remove the folders a delete left empty, up to the root: a user's folder is named
        after them, so none is left behind once their last object is gone."""
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                folder.rmdir()
            except OSError:
                return  # not empty (or gone): its parents are not empty either
            folder = folder.parent

    def keys(self, prefix: str, limit: int) -> list[str]:
        folder = prefix.rpartition("/")[0]
        base = self.path(folder) if folder else self.root
        found: set[str] = set()
        try:
            if not base.is_dir():
                return []
            for path in base.rglob("*"):
                if path.is_file():
                    key = path.relative_to(self.root).as_posix().removesuffix(META_SUFFIX)
                    if key.startswith(prefix):
                        found.add(key)  # an object, or metadata left without its object
        except OSError as error:
            raise StorageUnavailable(f"cannot list {prefix}: {error}") from error
        return sorted(found)[:limit]

    def listing(self, prefix: str, after: str | None, limit: int) -> list[ListedObject]:
        """Objects and metadata files left without their object alike (the key is the same)."""
        folder = prefix.rpartition("/")[0]
        base = self.path(folder) if folder else self.root
        found: dict[str, float] = {}
        try:
            if not base.is_dir():
                return []
            for path in base.rglob("*"):
                if not path.is_file():
                    continue
                key = path.relative_to(self.root).as_posix().removesuffix(META_SUFFIX)
                if key.startswith(prefix) and (after is None or key > after):
                    found[key] = max(found.get(key, 0.0), path.stat().st_mtime)
        except OSError as error:
            raise StorageUnavailable(f"cannot list {prefix}: {error}") from error
        return [ListedObject(key, datetime.fromtimestamp(found[key], UTC)) for key in sorted(found)[:limit]]

    def url(self, key: str, public: bool) -> str:
        if self.base_url:
            return f"{self.base_url.rstrip('/')}/{key}"
        return self.path(key).as_uri()
