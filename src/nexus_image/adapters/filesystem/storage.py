"""Objects as files under a root folder; writes are atomic (temp file + rename)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from nexus_image.application.errors import NotFound, StorageUnavailable
from nexus_image.application.ports import StoredObject


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
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
            meta = {"content_type": content_type, "metadata": dict(metadata)}
            path.with_name(path.name + ".meta.json").write_text(json.dumps(meta))
        except OSError as error:
            raise StorageUnavailable(f"cannot write {key}: {error}") from error
        return StoredObject(key, len(data), content_type)

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

    def url(self, key: str, public: bool) -> str:
        if self.base_url:
            return f"{self.base_url.rstrip('/')}/{key}"
        return self.path(key).as_uri()
