"""Pulling a model from the hub into the store: resolve the revision to a commit, pick the files,
make sure the disk can hold them, download (resuming what an earlier pull left), verify each
file's checksum, then install the whole model in one rename.

Partial downloads live in `.downloads/<org>--<repo>/<commit>/<path>.incomplete`; a verified file
loses the suffix. The folder goes once the model is installed."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nexus_image.adapters.models.checksums import CHUNK, Expected, file_sha256
from nexus_image.adapters.models.errors import (
    ChecksumMismatch,
    HubUnavailable,
    InvalidModel,
    ModelError,
    ModelExists,
    NotEnoughDisk,
)
from nexus_image.adapters.models.hub import HubClient, RepoFile, check_repo_id
from nexus_image.adapters.models.progress import Both, NoProgress, Progress
from nexus_image.adapters.models.selection import (
    MODEL_INDEX,
    Pick,
    Selection,
    installed_model_index,
    select_files,
)
from nexus_image.adapters.models.status import StatusRecorder
from nexus_image.adapters.models.store import FileRecord, InstalledModel, ModelStore, check_name, model_name

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: pulls are not serialised
    fcntl = None  # type: ignore[assignment]

PARTIAL = ".incomplete"


def pull(
    store: ModelStore,
    repo_id: str,
    revision: str | None = None,
    variant: str | None = None,
    name: str | None = None,
    *,
    replace: bool = False,
    hub: HubClient | None = None,
    progress: Progress | None = None,
) -> InstalledModel:
    """Installs `repo_id` at `revision` (default "main") as `name` (default: the repository's
    name). Raises ModelExists, InvalidModel, HubNotFound, HubUnavailable, NotEnoughDisk or
    ChecksumMismatch; on any of them nothing is installed."""
    check_repo_id(repo_id)
    name = check_name(name) if name is not None else model_name(repo_id.rpartition("/")[2])
    if not replace and store.get(name) is not None:
        raise ModelExists(name)
    hub = hub or HubClient()
    with _one_pull_at_a_time(store):
        recorder = StatusRecorder(store.status_file, name, f"hub:{repo_id}")
        told = Both(recorder, progress or NoProgress())
        try:
            model = _pull(store, hub, repo_id, revision or "main", variant, name, replace, told)
        except ModelError as error:
            told.failed(str(error))
            raise
        except BaseException as error:
            told.failed(f"{type(error).__name__}: {error}")
            raise
        told.finished()
        return model


def _pull(
    store: ModelStore,
    hub: HubClient,
    repo_id: str,
    revision: str,
    variant: str | None,
    name: str,
    replace: bool,
    progress: Progress,
) -> InstalledModel:
    info = hub.model_info(repo_id, revision)
    folder = store.downloads_dir / repo_id.replace("/", "--") / info.commit
    selection = select_files(info.files, variant)
    _check_disk(store, folder, selection)
    model_index = None
    if selection.kind == "folder":
        index_pick = next(p for p in selection.picks if p.file.path == MODEL_INDEX)
        _download(hub, repo_id, info.commit, index_pick.file, folder, NoProgress())
        model_index = _read_model_index(folder / MODEL_INDEX)
        selection = select_files(info.files, variant, model_index)
    remaining = [p.file for p in selection.picks if not _complete(folder, p.file)]
    already = selection.total_size - sum(f.size - _partial_size(folder, f) for f in remaining)
    progress.started(selection.total_size, len(remaining), already)
    for file in sorted(remaining, key=lambda f: (f.size, f.path)):
        _download(hub, repo_id, info.commit, file, folder, progress)
        progress.file_done(file.path)
    staging = store.new_staging(name)
    try:
        records = _assemble(folder, staging, selection, model_index)
        model = store.install(
            staging,
            name=name,
            kind=selection.kind,
            entry="." if selection.kind == "folder" else selection.picks[0].target,
            source=f"hub:{repo_id}",
            files=records,
            revision=info.commit,
            variant=selection.variant,
            replace=replace,
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    _remove_if_empty(folder.parent)
    return model


def _read_model_index(path: Path) -> dict[str, object]:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidModel(f"the repository's {MODEL_INDEX} is not valid JSON: {error}") from error
    if not isinstance(found, dict):
        raise InvalidModel(f"the repository's {MODEL_INDEX} is not a JSON object")
    return found


def _check_disk(store: ModelStore, folder: Path, selection: Selection) -> None:
    """NotEnoughDisk unless the disk holds what is left to download, plus a second copy of the
    model when the install cannot be a rename (downloads and installs on other filesystems)."""
    to_download = sum(
        p.file.size - _partial_size(folder, p.file) for p in selection.picks if not _complete(folder, p.file)
    )
    store.downloads_dir.mkdir(parents=True, exist_ok=True)
    store.installed_dir.mkdir(parents=True, exist_ok=True)
    moved = os.stat(store.downloads_dir).st_dev == os.stat(store.installed_dir).st_dev
    needed = to_download + (0 if moved else selection.total_size)
    free = shutil.disk_usage(store.root).free
    if needed > free:
        raise NotEnoughDisk(needed, free, str(store.root))


def _complete(folder: Path, file: RepoFile) -> bool:
    """Downloaded and verified by an earlier pull (only verified files lose the suffix)."""
    done = folder / file.path
    return done.is_file() and done.stat().st_size == file.size


def _partial_size(folder: Path, file: RepoFile) -> int:
    try:
        size = (folder / (file.path + PARTIAL)).stat().st_size
    except FileNotFoundError:
        return 0
    return size if size <= file.size else 0


def _download(
    hub: HubClient, repo_id: str, commit: str, file: RepoFile, folder: Path, progress: Progress
) -> None:
    """Fetches `file` into `folder`, from where an earlier attempt stopped, and verifies it."""
    done = folder / file.path
    if _complete(folder, file):
        return
    partial = done.with_name(done.name + PARTIAL)
    partial.parent.mkdir(parents=True, exist_ok=True)
    start = _partial_size(folder, file)
    expected = Expected(file)
    if start < file.size or file.size == 0:
        with hub.open_file(repo_id, commit, file.path, start) as answer:
            if answer.status == 416 or (answer.status == 200 and start > 0):  # not resumed: all again
                progress.advanced(-start)
                start = 0
                if answer.status == 416:
                    partial.unlink(missing_ok=True)
                    _download(hub, repo_id, commit, file, folder, progress)
                    return
            elif answer.status == 206 and not (answer.headers.get("Content-Range") or "").startswith(
                f"bytes {start}-"
            ):
                raise HubUnavailable(f"the hub resumed {file.path} at the wrong offset")
            if start:
                expected.feed_file(partial, start)
            with partial.open("ab" if start else "wb") as out:
                while chunk := answer.read(CHUNK):
                    out.write(chunk)
                    out.flush()
                    expected.update(chunk)
                    progress.advanced(len(chunk))
    else:
        expected.feed_file(partial, start)
    _verify(partial, file, expected)
    os.replace(partial, done)


def _verify(partial: Path, file: RepoFile, expected: Expected) -> None:
    got = partial.stat().st_size
    if got < file.size:
        raise HubUnavailable(
            f"the download of {file.path} stopped at {got} of {file.size} bytes; pull again to resume"
        )
    if got > file.size:
        partial.unlink(missing_ok=True)
        raise ChecksumMismatch(file.path, f"{file.size} bytes", f"{got} bytes")
    if not expected.matches():
        partial.unlink(missing_ok=True)
        raise ChecksumMismatch(
            file.path, expected.describe(expected.value), expected.describe(expected.actual())
        )


def _assemble(
    folder: Path, staging: Path, selection: Selection, model_index: dict[str, object] | None
) -> list[FileRecord]:
    """Moves the verified downloads into `staging` under their installed names."""
    records = []
    for pick in selection.picks:
        target = staging / pick.target
        target.parent.mkdir(parents=True, exist_ok=True)
        if pick.file.path == MODEL_INDEX and model_index is not None:
            content = installed_model_index(model_index, selection.dropped)
            target.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
        else:
            shutil.move(folder / pick.file.path, target)
        records.append(_record(pick, target))
    return records


def _record(pick: Pick, target: Path) -> FileRecord:
    return FileRecord(pick.target, target.stat().st_size, pick.file.sha256 or file_sha256(target))


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


@contextmanager
def _one_pull_at_a_time(store: ModelStore) -> Iterator[None]:
    """One pull per store at a time: two would write the same partial files and status."""
    store.downloads_dir.mkdir(parents=True, exist_ok=True)
    with (store.downloads_dir / ".lock").open("a") as lock:
        if fcntl is not None:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ModelError("another pull is running in this store; wait for it to finish") from None
        yield
