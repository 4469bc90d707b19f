"""The `nexus-image` command."""

from nexus_image.entrypoints.cli.main import main

__all__ = ["main"]
