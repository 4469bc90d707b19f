"""Object storage on the local filesystem (the embedded default)."""

from nexus_image.adapters.filesystem.storage import FileStorage

__all__ = ["FileStorage"]
