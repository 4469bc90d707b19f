"""Fixtures for the distributed pipeline tests: a database per test and a `Cluster` around it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nexus_image.adapters.diffusers import DiffusersGenerator, GeneratorOptions
from nexus_image.adapters.kafka import Topics, ensure_topics
from nexus_image.adapters.sqlalchemy import migrate
from tests.support.cluster import Cluster, cluster_fields
from tests.support.moto import MotoServer
from tests.support.postgres import create_database, drop_database
from tests.support.tansu import TansuBroker

pytestmark = pytest.mark.integration

MakeCluster = Callable[..., Cluster]


@pytest.fixture
def own_database(postgres_server: str) -> Iterator[str]:
    """A migrated database for this test alone: worker processes share it with the test."""
    url = create_database(postgres_server)
    try:
        migrate(url)
        yield url
    finally:
        drop_database(postgres_server, url)


@pytest.fixture
def make_cluster(
    own_database: str,
    kafka_prefix: str,
    s3_server: MotoServer,
    s3_bucket: str,
    tiny_folder: Path,
    tmp_path: Path,
) -> Iterator[MakeCluster]:
    """Builds the cluster on a broker and an S3 server (the shared ones unless told), creating
    the topics first when the broker is up."""
    made: list[Cluster] = []

    def make(broker: TansuBroker, s3: MotoServer = s3_server, **fields: object) -> Cluster:
        values = cluster_fields(
            database_url=own_database,
            bootstrap=broker.bootstrap,
            prefix=kafka_prefix,
            s3_endpoint=s3.endpoint,
            bucket=s3_bucket,
            model=str(tiny_folder),
            tmp=tmp_path,
        )
        if broker.running:
            ensure_topics(broker.client_config(), Topics(kafka_prefix).all(), partitions=4)
        cluster = Cluster({**values, **fields}, tmp_path)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.close()


@pytest.fixture
def cluster(make_cluster: MakeCluster, kafka: TansuBroker) -> Cluster:
    return make_cluster(kafka)


@pytest.fixture(scope="session")
def tiny_generator(tiny_folder: Path, model_cache: Path) -> DiffusersGenerator:
    """The tiny pipeline loaded once, for workers run inside the test process."""
    generator = DiffusersGenerator(GeneratorOptions(model=str(tiny_folder), cache_dir=model_cache, threads=2))
    generator.load()
    return generator
