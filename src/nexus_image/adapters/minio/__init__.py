"""S3/MinIO object storage (the `minio` client)."""

from nexus_image.adapters.minio.storage import S3ObjectStorage

__all__ = ["S3ObjectStorage"]
