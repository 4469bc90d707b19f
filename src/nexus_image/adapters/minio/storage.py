"""Object storage on S3 or MinIO through the `minio` client.

Private images get presigned GET URLs that expire, signed for the endpoint clients reach
(`public_endpoint`, when it differs from the service's own); public ones get a URL under a configured
public base (a CDN or a bucket path an anonymous-read policy opens) or, without one, a presigned
URL valid for the longest time S3 allows (7 days). Every failure of the server or the network
becomes StorageUnavailable, and a missing object NotFound, so use cases never see minio types."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlparse

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

from nexus_image.application.errors import NotFound, StorageUnavailable
from nexus_image.application.ports import ListedObject, StoredObject

MAX_PRESIGN = timedelta(days=7)
_MISSING = frozenset({"NoSuchKey", "NoSuchBucket", "NoSuchObject"})


def http_client(timeout: float, retries: int) -> urllib3.PoolManager:
    """Short timeouts and few retries: the use case retries uploads itself, with backoff, and a
    stuck storage call must not hold a GPU worker for minutes."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
        retries=urllib3.Retry(total=retries, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)),
        maxsize=10,
    )


def _header_safe(value: str) -> str:
    """Metadata travels as HTTP headers, which carry ASCII only."""
    return value if value.isascii() and value.isprintable() else quote(value, safe="")


class S3ObjectStorage:
    """The ObjectStorage port on one bucket, created on first write if missing."""

    def __init__(
        self,
        endpoint: str,
        access_key: str | None,
        secret_key: str | None,
        bucket: str,
        *,
        region: str = "us-east-1",
        secure: bool = False,
        presign_seconds: int = 3600,
        public_base_url: str | None = None,
        public_endpoint: str | None = None,
        timeout: float = 10.0,
        retries: int = 2,
    ) -> None:
        def client(url: str) -> Minio:
            parsed = urlparse(url if "://" in url else f"{'https' if secure else 'http'}://{url}")
            return Minio(
                parsed.netloc,
                access_key=access_key,
                secret_key=secret_key,
                secure=parsed.scheme == "https",
                region=region,  # known region: presigning needs no round trip
                http_client=http_client(timeout, retries),
            )

        self.bucket = bucket
        self.presign_expiry = min(timedelta(seconds=presign_seconds), MAX_PRESIGN)
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.client = client(endpoint)
        # The host clients download from may not be the one the service talks to (`minio:9000`
        # inside a cluster network): URLs are signed for the clients' one, which signing alone
        # needs (no request goes to it from here).
        self.signer = client(public_endpoint) if public_endpoint else self.client
        self._bucket_ready = False
        self._lock = threading.Lock()

    @contextmanager
    def _translated(self, key: str) -> Iterator[None]:
        try:
            yield
        except S3Error as error:
            if error.code in _MISSING:
                raise NotFound("object", key) from None
            raise StorageUnavailable(f"{key}: {error.code}: {error.message}") from error
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as error:
            raise StorageUnavailable(f"{key}: {type(error).__name__}: {error}") from error

    def ensure_bucket(self) -> None:
        with self._lock:
            if self._bucket_ready:
                return
            with self._translated(self.bucket):
                if not self.client.bucket_exists(self.bucket):
                    try:
                        self.client.make_bucket(self.bucket)
                    except S3Error as error:  # another worker created it first
                        if error.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                            raise
            self._bucket_ready = True

    def put(self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> StoredObject:
        self.ensure_bucket()
        headers: dict[str, str | list[str] | tuple[str]] = {k: _header_safe(v) for k, v in metadata.items()}
        with self._translated(key):
            self.client.put_object(
                self.bucket, key, io.BytesIO(data), len(data), content_type=content_type, metadata=headers
            )
        return StoredObject(key, len(data), content_type)

    def get(self, key: str) -> bytes:
        with self._translated(key):
            response = self.client.get_object(self.bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

    def delete(self, key: str) -> None:
        try:
            with self._translated(key):
                self.client.remove_object(self.bucket, key)
        except NotFound:
            pass  # no bucket, no object: deleting is idempotent

    def keys(self, prefix: str, limit: int) -> list[str]:
        found: list[str] = []
        try:
            with self._translated(prefix):
                for item in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
                    if item.object_name is not None:
                        found.append(item.object_name)
                    if len(found) >= limit:
                        break
        except NotFound:
            return []  # no bucket yet: no objects
        return found

    def listing(self, prefix: str, after: str | None, limit: int) -> list[ListedObject]:
        found: list[ListedObject] = []
        try:
            with self._translated(prefix):
                listed = self.client.list_objects(
                    self.bucket, prefix=prefix, recursive=True, start_after=after
                )
                for item in listed:
                    if item.object_name is not None:
                        written = item.last_modified or datetime.now(UTC)
                        found.append(ListedObject(item.object_name, written.astimezone(UTC)))
                    if len(found) >= limit:
                        break
        except NotFound:
            return []  # no bucket yet: no objects
        return found

    def url(self, key: str, public: bool) -> str:
        if public and self.public_base_url:
            return f"{self.public_base_url}/{quote(key)}"
        expiry = MAX_PRESIGN if public else self.presign_expiry
        with self._translated(key):
            return self.signer.presigned_get_object(self.bucket, key, expires=expiry)
