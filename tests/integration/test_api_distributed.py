"""The HTTP API wired for production: PostgreSQL, a Kafka-protocol broker and S3 (moto), with
the worker running in the API process and taking its jobs from Kafka. The JSON carries presigned
S3 URLs that download the image directly; the API's own /file route serves the same bytes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from sqlalchemy.engine import Engine

from nexus_image.adapters.kafka import Topics, ensure_topics
from nexus_image.entrypoints.composition import compose, http_app
from nexus_image.entrypoints.settings import Settings
from nexus_image.testing import PatternGenerator
from tests.api.conftest import SECRET, bearer
from tests.support.cluster import cluster_fields
from tests.support.moto import MotoServer
from tests.support.tansu import TansuBroker

pytestmark = pytest.mark.integration


def test_generate_through_kafka_and_download_from_s3(
    clean_postgres: Engine,
    postgres_url: str,
    kafka: TansuBroker,
    kafka_prefix: str,
    s3_server: MotoServer,
    s3_bucket: str,
    tmp_path: Path,
) -> None:
    fields: dict[str, Any] = cluster_fields(
        database_url=postgres_url,
        bootstrap=kafka.bootstrap,
        prefix=kafka_prefix,
        s3_endpoint=s3_server.endpoint,
        bucket=s3_bucket,
        model="unused: the pattern generator stands in",
        tmp=tmp_path,
    )
    ensure_topics(kafka.client_config(), Topics(kafka_prefix).all(), partitions=1)
    settings = Settings(**{**fields, "embedded_worker": True, "jwt_secret": SECRET})
    with TestClient(http_app(compose("embedded", settings, generator=PatternGenerator()))) as client:
        created = client.post(
            "/api/v1/images/generate", json={"prompt": "a harbour", "steps": 2}, headers=bearer()
        )
        assert created.status_code == 201, created.text
        job = created.json()["id"]
        deadline = time.monotonic() + 60
        while (image := client.get(f"/api/v1/images/{job}", headers=bearer()).json())[
            "status"
        ] != "COMPLETED":
            assert image["status"] in ("QUEUED", "PROCESSING") and time.monotonic() < deadline, image
            time.sleep(0.1)
        assert image["storage_url"].startswith(s3_server.endpoint)
        direct = httpx.get(image["storage_url"], timeout=10)
        assert direct.status_code == 200 and direct.content.startswith(b"\x89PNG")
        through_api = client.get(f"/api/v1/images/{job}/file", headers=bearer())
        assert through_api.content == direct.content
        ready = client.get("/ready").json()
        assert ready["checks"]["database"] == ready["checks"]["storage"] == "ok"
        assert ready["checks"]["model"] == "ready" and ready["status"] == "ready"
