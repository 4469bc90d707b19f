"""The S3 adapter against a real S3 server (moto)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlparse

import pytest

from nexus_image.adapters.minio import S3ObjectStorage
from nexus_image.application.errors import NotFound, StorageUnavailable
from tests.support.moto import MotoServer

pytestmark = pytest.mark.integration


def storage_on(server: MotoServer, bucket: str, **options: object) -> S3ObjectStorage:
    return S3ObjectStorage(server.endpoint, "test-key", "test-secret", bucket, **options)  # type: ignore[arg-type]


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
        return body


def test_put_get_delete_with_content_type_and_metadata(s3_server: MotoServer, s3_bucket: str) -> None:
    storage = storage_on(s3_server, s3_bucket)
    stored = storage.put(
        "images/alice/j1.png", b"\x89PNG data", "image/png", {"job-id": "j1", "user-id": "zoë"}
    )
    assert (stored.key, stored.size, stored.content_type) == ("images/alice/j1.png", 9, "image/png")
    assert storage.get("images/alice/j1.png") == b"\x89PNG data"

    info = storage.client.stat_object(s3_bucket, "images/alice/j1.png")
    assert info.content_type == "image/png"
    assert info.metadata is not None
    assert info.metadata["x-amz-meta-job-id"] == "j1"
    assert info.metadata["x-amz-meta-user-id"] == "zo%C3%AB"  # headers are ASCII: non-ASCII is quoted

    storage.delete("images/alice/j1.png")
    storage.delete("images/alice/j1.png")  # idempotent
    with pytest.raises(NotFound):
        storage.get("images/alice/j1.png")


def test_missing_key_and_missing_bucket_are_not_found(s3_server: MotoServer, s3_bucket: str) -> None:
    storage = storage_on(s3_server, s3_bucket)
    with pytest.raises(NotFound):
        storage.get("nothing/here.png")  # the bucket does not exist yet
    storage.delete("nothing/here.png")
    storage.put("a.txt", b"a", "text/plain", {})
    with pytest.raises(NotFound):
        storage.get("nothing/here.png")


def test_two_storages_create_the_same_bucket_without_conflict(s3_server: MotoServer, s3_bucket: str) -> None:
    storage_on(s3_server, s3_bucket).put("one", b"1", "text/plain", {})
    storage_on(s3_server, s3_bucket).put("two", b"2", "text/plain", {})
    assert storage_on(s3_server, s3_bucket).get("one") == b"1"


def test_private_url_is_presigned_with_the_configured_expiry(s3_server: MotoServer, s3_bucket: str) -> None:
    storage = storage_on(s3_server, s3_bucket, presign_seconds=600)
    storage.put("images/bob/j2.png", b"private bytes", "image/png", {})
    url = storage.url("images/bob/j2.png", public=False)
    assert parse_qs(urlparse(url).query)["X-Amz-Expires"] == ["600"]
    assert download(url) == b"private bytes"
    with pytest.raises(urllib.error.HTTPError) as refused:
        download(f"{s3_server.endpoint}/{s3_bucket}/images/bob/j2.png")  # no signature, no access
    assert refused.value.code == 403


def test_urls_are_signed_for_the_public_endpoint_clients_reach(s3_server: MotoServer, s3_bucket: str) -> None:
    """The service talks to 127.0.0.1; clients know the same server as localhost."""
    public = s3_server.endpoint.replace("127.0.0.1", "localhost")
    storage = storage_on(s3_server, s3_bucket, public_endpoint=public)
    storage.put("images/bob/j9.png", b"reachable", "image/png", {})
    for is_public in (False, True):
        url = storage.url("images/bob/j9.png", public=is_public)
        assert urlparse(url).netloc == urlparse(public).netloc
        assert "X-Amz-Signature" in url
        assert download(url) == b"reachable"
    assert urlparse(storage_on(s3_server, s3_bucket).url("k", public=False)).hostname == "127.0.0.1"


def test_public_url_without_a_public_base_is_long_lived(s3_server: MotoServer, s3_bucket: str) -> None:
    storage = storage_on(s3_server, s3_bucket)
    storage.put("images/bob/j3.png", b"public bytes", "image/png", {})
    url = storage.url("images/bob/j3.png", public=True)
    assert parse_qs(urlparse(url).query)["X-Amz-Expires"] == [str(7 * 24 * 3600)]
    assert download(url) == b"public bytes"


def test_public_url_under_a_public_base_is_readable_anonymously(
    s3_server: MotoServer, s3_bucket: str
) -> None:
    base = f"{s3_server.endpoint}/{s3_bucket}"
    storage = storage_on(s3_server, s3_bucket, public_base_url=base + "/")
    storage.put("images/carol/j4.png", b"gallery bytes", "image/png", {})
    # What an operator does for a public base served from the bucket: allow anonymous reads.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["*"]},
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{s3_bucket}/images/*"],
            }
        ],
    }
    storage.client.set_bucket_policy(s3_bucket, json.dumps(policy))
    url = storage.url("images/carol/j4.png", public=True)
    assert url == f"{base}/images/carol/j4.png"
    assert download(url) == b"gallery bytes"


def test_a_stopped_server_gives_storage_unavailable(private_s3: MotoServer, s3_bucket: str) -> None:
    storage = storage_on(private_s3, s3_bucket, timeout=2.0, retries=1)
    storage.put("k", b"v", "text/plain", {})
    private_s3.stop()
    began = time.monotonic()
    for call in (
        lambda: storage.put("k", b"v", "text/plain", {}),
        lambda: storage.get("k"),
        lambda: storage.delete("k"),
    ):
        with pytest.raises(StorageUnavailable):
            call()
    assert time.monotonic() - began < 15
    fresh = storage_on(private_s3, s3_bucket)
    with pytest.raises(StorageUnavailable):
        fresh.put("k", b"v", "text/plain", {})  # even creating the bucket fails cleanly
