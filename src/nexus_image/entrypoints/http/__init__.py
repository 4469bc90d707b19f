"""The HTTP API (Litestar): `create_app(settings)` builds it."""

from nexus_image.entrypoints.http.app import create_app

__all__ = ["create_app"]
