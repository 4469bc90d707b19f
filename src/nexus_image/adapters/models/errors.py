"""What can go wrong with installed models and pulls: one line each, fit for a CLI or a page.

`bad_input` tells a caller whether the user asked for something that cannot be (a bad name, a
model that is not installed, a repository that is not there) or whether something failed on the
way (the network, a checksum, the disk)."""

from __future__ import annotations


class ModelError(Exception):
    """Base of the model store's errors; `str(error)` is one line for the user."""

    bad_input = False


class InvalidModel(ModelError):
    """A name, path or repository that cannot be installed as asked."""

    bad_input = True


class ModelNotInstalled(ModelError, KeyError):
    """No complete install under that name."""

    bad_input = True

    def __init__(self, name: str) -> None:
        super().__init__(f"no model named {name!r} is installed (see: nexus-image models list)")
        self.name = name

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class ModelExists(ModelError):
    """The name is taken: installing over it needs `replace=True`."""

    bad_input = True

    def __init__(self, name: str) -> None:
        super().__init__(f"a model named {name!r} is already installed (choose another name or replace it)")
        self.name = name


class NotEnoughDisk(ModelError):
    """The pull would fill the disk: refused before any byte is downloaded."""

    def __init__(self, needed: int, free: int, where: str) -> None:
        super().__init__(
            f"not enough disk space in {where}: the model needs {human_size(needed)} more, "
            f"{human_size(free)} free"
        )
        self.needed, self.free = needed, free


class ChecksumMismatch(ModelError):
    """A downloaded file is not what the hub says it is; the bad file is deleted."""

    def __init__(self, path: str, expected: str, actual: str) -> None:
        super().__init__(
            f"checksum mismatch for {path}: expected {expected}, got {actual}; nothing was installed"
        )
        self.path = path


class HubUnavailable(ModelError):
    """The hub could not be reached, timed out or answered with a server error."""


class HubNotFound(ModelError):
    """The repository, revision or file does not exist, or the token does not open it."""

    bad_input = True


def human_size(n_bytes: float) -> str:
    """Bytes as people read them: 512 B, 1.5 KB, 3.9 GB (powers of 1000, like the hub shows)."""
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")
