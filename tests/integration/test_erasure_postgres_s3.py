"""Erasure on the production adapters: PostgreSQL and an S3 server (moto). Afterwards no row of
any table names the user, and no object is left in their folders (nor any key holding their
id), strays included; the other user's objects stay."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from nexus_image.adapters.minio import S3ObjectStorage
from nexus_image.adapters.sqlalchemy import SqlDatabase
from nexus_image.application.erasure import EraseUser
from tests.support.driver import Fakes, ServiceDriver
from tests.support.moto import MotoServer
from tests.support.personal_data import OTHER, VICTIM, UuidIds, objects_naming, populate, sql_naming

pytestmark = pytest.mark.integration


def test_keys_lists_a_folder_in_key_order_a_page_at_a_time(s3_server: MotoServer, s3_bucket: str) -> None:
    storage = S3ObjectStorage(s3_server.endpoint, "test-key", "test-secret", s3_bucket)
    assert storage.keys("images/ann/", 10) == []  # no bucket yet
    for key in ("images/ann/b.png", "images/ann/a.png", "images/anna/c.png", "thumbnails/ann/a.webp"):
        storage.put(key, b"x", "image/png", {})
    assert storage.keys("images/ann/", 10) == ["images/ann/a.png", "images/ann/b.png"]
    assert storage.keys("images/ann/", 1) == ["images/ann/a.png"]


def test_erasure_on_postgres_and_s3_leaves_no_row_and_no_object_naming_the_user(
    clean_postgres: Engine, s3_server: MotoServer, s3_bucket: str
) -> None:
    storage = S3ObjectStorage(s3_server.endpoint, "test-key", "test-secret", s3_bucket)
    fakes = Fakes(storage=storage)  # type: ignore[arg-type]
    database = SqlDatabase(clean_postgres)
    driver = ServiceDriver()
    driver.service = fakes.service(database.unit_of_work, storage_retry_delays=(0.0,))
    driver.queue = fakes.queue
    world = populate(driver.service, database.unit_of_work, fakes.clock, driver.run_queue)
    # A worker's file whose job was settled elsewhere: no row knows it, the sweep finds it.
    storage.put(f"images/{VICTIM}/stray.png", b"\x89PNG", "image/png", {"user-id": VICTIM})
    with clean_postgres.connect() as connection:
        assert len(sql_naming(connection, VICTIM)) > 20

    erase = EraseUser(database.unit_of_work, storage, fakes.clock, UuidIds(), lambda: b"k" * 32, batch=3)
    done = erase.execute(VICTIM)

    assert (done.images, done.uploads, done.strays) == (3, 1, 1)
    with clean_postgres.connect() as connection:
        assert sql_naming(connection, VICTIM) == []
    every = [o.object_name or "" for o in storage.client.list_objects(s3_bucket, recursive=True)]
    assert objects_naming(storage, VICTIM, every) == []
    assert sorted(every) == [
        f"images/{OTHER}/{world.other_images[0]}.png",
        f"thumbnails/{OTHER}/{world.other_images[0]}.webp",
    ]
    assert erase.execute(VICTIM).images == 0  # again: nothing left
