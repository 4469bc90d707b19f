"""The models installed on this machine, in folders under one root (`<data_dir>/models`).

An install is assembled in `.staging/` and moved into `installed/<name>` in one rename, its
manifest (`nexus-model.json`) written before that: a folder without a manifest is not a model,
so a crash never leaves half a model that anything would load. Nothing here touches the network."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nexus_image.adapters.models.checksums import file_sha256
from nexus_image.adapters.models.errors import InvalidModel, ModelExists, ModelNotInstalled
from nexus_image.adapters.models.status import DownloadStatus, alive, read_status
from nexus_image.domain.parameters import MODEL_NAME

MANIFEST = "nexus-model.json"
MANIFEST_FORMAT = 1
MODEL_INDEX = "model_index.json"
CHECKPOINT_SUFFIXES = (".safetensors", ".ckpt")
LINK_ENTRY = "model"  # the symlink inside installed/<name> that points at a linked folder
_STAGING = re.compile(r"(?P<name>.+)-(?P<pid>\d+)-(?P<token>[0-9a-f]{8})(?:-old)?")  # see new_staging

__all__ = ["MODEL_NAME", "DownloadStatus", "FileRecord", "InstalledModel", "ModelStore", "model_name"]


@dataclass(frozen=True, slots=True)
class InstalledModel:
    name: str  # MODEL_NAME
    kind: str  # "folder" (diffusers layout) | "single_file"
    path: Path  # the folder (with model_index.json) or the checkpoint file
    source: str  # "hub:ORG/REPO" | "file:/abs/path" | "folder:/abs/path"
    revision: str | None  # hub commit sha (40 hex) for hub installs
    variant: str | None  # e.g. "fp16"
    size: int  # bytes on disk (the linked file's size when linked)
    installed_at: datetime  # UTC
    linked: bool = False  # `add --link`: path points outside the store


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A file of an install, as the manifest keeps it (path relative to the model)."""

    path: str
    size: int
    sha256: str


def model_name(text: str) -> str:
    """A valid model name made from a repository's or file's name: lowercased, other characters
    turned into '-', at most 64 characters."""
    name = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).lstrip("._-")[:64].rstrip(".-_")
    return name if name and MODEL_NAME.fullmatch(name) else "model"


def check_name(name: str) -> str:
    if not MODEL_NAME.fullmatch(name):
        raise InvalidModel(
            f"bad model name {name!r}: 1 to 64 of a-z 0-9 . _ - (lowercase), starting with a letter or digit"
        )
    return name


FileRecords = list[FileRecord]  # the class below names a method `list`


def file_records(path: Path) -> FileRecords:
    """Size and sha256 of a file, or of every file in a folder (hidden entries left out)."""
    if path.is_file():
        return [FileRecord(path.name, path.stat().st_size, file_sha256(path))]
    found = []
    for item in sorted(path.rglob("*")):
        relative = item.relative_to(path)
        if (
            item.is_file()
            and not any(part.startswith(".") for part in relative.parts)
            and item.name != MANIFEST
        ):
            found.append(FileRecord(relative.as_posix(), item.stat().st_size, file_sha256(item)))
    return found


class ModelStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.installed_dir = self.root / "installed"
        self.staging_dir = self.root / ".staging"
        self.downloads_dir = self.root / ".downloads"
        self.default_file = self.root / "default"
        self.status_file = self.downloads_dir / "status.json"

    # --- reading -------------------------------------------------------------------------------

    def list(self) -> list[InstalledModel]:
        """Complete installs only, by name."""
        if not self.installed_dir.is_dir():
            return []
        found = (self.get(entry.name) for entry in sorted(self.installed_dir.iterdir()))
        return [model for model in found if model is not None]

    def get(self, name: str) -> InstalledModel | None:
        if not MODEL_NAME.fullmatch(name):
            return None
        folder = self.installed_dir / name
        try:
            data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            return _model(folder, name, data)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def default(self) -> str | None:
        """The model set as default while it is installed; else the first installed by name."""
        chosen = self._chosen()
        if chosen is not None and self.get(chosen) is not None:
            return chosen
        models = self.list()
        return models[0].name if models else None

    def download_status(self) -> DownloadStatus | None:
        return read_status(self.status_file)

    # --- changing ------------------------------------------------------------------------------

    def set_default(self, name: str) -> None:
        if self.get(name) is None:
            raise ModelNotInstalled(name)
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.root / f".default.{os.getpid()}.tmp"
        partial.write_text(name + "\n", encoding="utf-8")
        os.replace(partial, self.default_file)

    def remove(self, name: str) -> InstalledModel:
        """Takes the model out at once (one rename), then deletes its files; a linked model's
        target stays where it is."""
        model = self.get(name)
        if model is None:
            raise ModelNotInstalled(name)
        self._discard(self.installed_dir / name)
        if self._chosen() == name:
            self.default_file.unlink(missing_ok=True)
        return model

    def add(
        self, path: Path, name: str | None = None, link: bool = False, replace: bool = False
    ) -> InstalledModel:
        """Installs a diffusers folder (with model_index.json) or a `.safetensors`/`.ckpt` file:
        a copy, or with `link` a symlink to it (the files stay where they are)."""
        source_path = Path(path).expanduser().resolve()
        if source_path.is_dir():
            if not (source_path / MODEL_INDEX).is_file():
                raise InvalidModel(f"{source_path} has no {MODEL_INDEX}: not a diffusers pipeline folder")
            kind, source, stem = "folder", f"folder:{source_path}", source_path.name
        elif source_path.is_file() and source_path.suffix.lower() in CHECKPOINT_SUFFIXES:
            kind, source, stem = "single_file", f"file:{source_path}", source_path.stem
        elif source_path.exists():
            raise InvalidModel(f"{source_path} is neither a diffusers folder nor a .safetensors/.ckpt file")
        else:
            raise InvalidModel(f"no such file or folder: {source_path}")
        name = check_name(name) if name is not None else model_name(stem)
        if not replace and self.get(name) is not None:
            raise ModelExists(name)
        staging = self.new_staging(name)
        try:
            if link:
                entry = LINK_ENTRY if kind == "folder" else source_path.name
                (staging / entry).symlink_to(source_path, target_is_directory=kind == "folder")
            elif kind == "folder":
                entry = "."
                shutil.copytree(source_path, staging, dirs_exist_ok=True, ignore=_hidden_and_manifest)
            else:
                entry = source_path.name
                shutil.copyfile(source_path, staging / entry)
            files = file_records(source_path if link else staging / entry)
            return self.install(
                staging,
                name=name,
                kind=kind,
                entry=entry,
                source=source,
                files=files,
                linked=link,
                replace=replace,
            )
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    # --- assembling (pulls use these too) ------------------------------------------------------

    def new_staging(self, name: str) -> Path:
        """An empty folder under `.staging/` to assemble an install in (left by a dead process:
        swept away)."""
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        self._sweep_staging()
        folder = self.staging_dir / f"{name}-{os.getpid()}-{secrets.token_hex(4)}"
        folder.mkdir()
        return folder

    def install(
        self,
        staging: Path,
        *,
        name: str,
        kind: str,
        entry: str,
        source: str,
        files: FileRecords,
        revision: str | None = None,
        variant: str | None = None,
        linked: bool = False,
        replace: bool = False,
    ) -> InstalledModel:
        """Writes the manifest into `staging`, then renames it to installed/<name> (over an
        existing install only with `replace`). The first model installed becomes the default."""
        check_name(name)
        manifest = {
            "format": MANIFEST_FORMAT,
            "name": name,
            "kind": kind,
            "entry": entry,
            "target": str((staging / entry).resolve()) if linked else None,
            "source": source,
            "revision": revision,
            "variant": variant,
            "size": sum(record.size for record in files),
            "installed_at": datetime.now(UTC).isoformat(),
            "linked": linked,
            "files": [{"path": r.path, "size": r.size, "sha256": r.sha256} for r in files],
        }
        partial = staging / f".{MANIFEST}.tmp"
        partial.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        os.replace(partial, staging / MANIFEST)
        had_default = self.default() is not None
        target = self.installed_dir / name
        self.installed_dir.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            if not replace and self.get(name) is not None:
                raise ModelExists(name)
            self._discard(target)  # replaced, or the remains of an install that never finished
        try:
            os.replace(staging, target)
        except OSError as error:  # another install took the name in between
            raise ModelExists(name) from error
        if not had_default:
            self.set_default(name)
        model = self.get(name)
        if model is None:  # pragma: no cover - it was just written
            raise ModelNotInstalled(name)
        return model

    def _chosen(self) -> str | None:
        try:
            return self.default_file.read_text(encoding="utf-8").strip() or None
        except OSError:
            return None

    def _discard(self, folder: Path) -> None:
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        trash = self.staging_dir / f"{folder.name}-{os.getpid()}-{secrets.token_hex(4)}-old"
        os.replace(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def _sweep_staging(self) -> None:
        for leftover in self.staging_dir.iterdir():
            found = _STAGING.fullmatch(leftover.name)
            if found and int(found["pid"]) != os.getpid() and not alive(int(found["pid"])):
                shutil.rmtree(leftover, ignore_errors=True)


def _hidden_and_manifest(folder: str, names: list[str]) -> list[str]:
    return [name for name in names if name.startswith(".") or name == MANIFEST]


def _model(folder: Path, name: str, data: dict[str, Any]) -> InstalledModel:
    if data["name"] != name or data["kind"] not in ("folder", "single_file"):
        raise ValueError("a manifest of another model")
    linked = bool(data.get("linked"))
    entry = str(data["entry"])
    path = Path(data["target"]) if linked else (folder if entry == "." else folder / entry)
    return InstalledModel(
        name=name,
        kind=str(data["kind"]),
        path=path,
        source=str(data["source"]),
        revision=data.get("revision"),
        variant=data.get("variant"),
        size=int(data["size"]),
        installed_at=datetime.fromisoformat(data["installed_at"]),
        linked=linked,
    )
