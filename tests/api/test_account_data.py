"""GET /account/export (a zip streamed as it is made, in bounded memory) and DELETE /account
(the caller's erasure), through the HTTP API."""

from __future__ import annotations

import asyncio
import io
import json
import os
import tempfile
import tracemalloc
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from nexus_image.adapters.imaging.pillow import PillowEncoder
from nexus_image.application import DatabaseUnavailable, StorageUnavailable
from nexus_image.application.ports import ObjectStorage, RawImage
from nexus_image.application.process_job.finish import png_metadata
from nexus_image.application.storage_keys import image_key
from nexus_image.domain import Album, GenerationParameters, ImageJob, JobStatus
from tests.support.builders import T0
from tests.support.personal_data import memory_naming

from .conftest import API, Api, token

IMAGES = 200
SIDE = 160  # random pixels: a PNG of about 77 KB, ~15 MB for the 200
PEAK_BOUND = 2 * 1024 * 1024  # bytes allocated at once while the whole export streams


def stored_images(api: Api, user: str, count: int, prefix: str = "img") -> list[ImageJob]:
    """COMPLETED images made cheaply: rows and PNGs (as the worker encodes them, parameters in
    their text chunks) written straight through the app's own ports."""
    storage, encoder = api.container.storage(), PillowEncoder()
    jobs = []
    for i in range(count):
        parameters = GenerationParameters.create(
            prompt=f"a lighthouse at dusk, number {i}", negative_prompt="blur", seed=1000 + i, steps=3 + i % 5
        )
        at = T0 + timedelta(seconds=i)
        job = ImageJob(f"{prefix}-{i:04d}", user, parameters, 5, at, JobStatus.COMPLETED, completed_at=at)
        job.image_key = image_key(user, job.id)
        encoded = encoder.encode(RawImage(SIDE, SIDE, os.urandom(SIDE * SIDE * 3)), png_metadata(job, "tiny"))
        storage.put(job.image_key, encoded.image, "image/png", {"job-id": job.id})
        jobs.append(job)
    with api.container.uow_factory()() as uow:
        for job in jobs:
            uow.jobs.add(job)
        if count > 2:
            uow.favorites.add(user, jobs[1].id, T0)
            uow.albums.add(Album(f"al-{prefix}", user, "trip", T0, image_ids=[jobs[2].id, jobs[1].id]))
        uow.commit()
    return jobs


def stream_to_file(
    api: Api, path: str, out: io.BufferedWriter | io.BytesIO, user: str = "alice"
) -> dict[str, Any]:
    """The app called as an ASGI server calls it, each body message written to `out` as it
    comes (the test client would keep the whole body in memory)."""
    answer: dict[str, Any] = {"chunks": 0}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": API + path,
        "raw_path": (API + path).encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"authorization", f"Bearer {token(user)}".encode()), (b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }

    async def serve() -> None:
        requested, done = False, asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()  # as a server does: the client is there until the response ends
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = {k.decode().lower(): v.decode() for k, v in message["headers"]}
            elif message["type"] == "http.response.body":
                out.write(message.get("body", b""))
                answer["chunks"] += 1
                if not message.get("more_body", False):
                    done.set()

        await api.client.app(scope, receive, send)

    asyncio.run(serve())
    return answer


def test_an_export_of_200_images_streams_in_bounded_memory_and_its_pngs_round_trip(api: Api) -> None:
    jobs = stored_images(api, "alice", IMAGES)
    stored_images(api, "bob", 1, prefix="bob")  # someone else's: never in alice's zip
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "export.zip"
        with archive.open("wb") as out:
            tracemalloc.start()
            try:
                answer = stream_to_file(api, "/account/export", out)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        size = archive.stat().st_size
        assert answer["status"] == 200
        assert answer["headers"]["content-type"] == "application/zip"
        assert "content-length" not in answer["headers"]  # sent as it was made
        assert 'filename="nexus-image-export-' in answer["headers"]["content-disposition"]
        assert answer["chunks"] > IMAGES  # at least one message per image
        assert size > 7 * PEAK_BOUND
        assert peak < PEAK_BOUND, f"peak {peak} bytes while streaming {size} bytes"

        with zipfile.ZipFile(archive) as unpacked:
            assert unpacked.testzip() is None
            names = unpacked.namelist()
            records = json.loads(unpacked.read("images.json"))
            albums = json.loads(unpacked.read("albums.json"))
            samples = {i: unpacked.read(f"images/{jobs[i].id}.png") for i in (0, 117, IMAGES - 1)}

    assert sorted(names) == sorted([*(f"images/{j.id}.png" for j in jobs), "images.json", "albums.json"])
    assert [r["id"] for r in records] == [j.id for j in jobs]
    assert records[1]["is_favorite"] and records[1]["albums"] == ["trip"] and records[2]["albums"] == ["trip"]
    assert (
        not records[0]["is_favorite"] and records[0]["albums"] == [] and records[0]["status"] == "COMPLETED"
    )
    assert records[5]["parameters"]["seed"] == 1005 and records[5]["file"] == "images/img-0005.png"
    assert albums == [
        {
            "id": "al-img",
            "name": "trip",
            "created_at": "2026-01-01T12:00:00Z",
            "images": ["img-0002", "img-0001"],
        }
    ]
    for i, png in samples.items():
        read = api.request("POST", "/images/parameters", files={"file": ("x.png", png, "image/png")})
        assert read.status_code == 200, read.text
        found = read.json()
        assert found["source"] == "nexus-image"
        expected = jobs[i].parameters
        assert found["parameters"]["prompt"] == expected.prompt == f"a lighthouse at dusk, number {i}"
        assert (found["parameters"]["seed"], found["parameters"]["steps"]) == (expected.seed, expected.steps)
        assert found["parameters"]["negative_prompt"] == "blur"
    assert ("alice", "account.export", "account:alice", "success") in api.audit()


def test_an_export_of_an_account_with_nothing_is_an_empty_archive(api: Api) -> None:
    answer = api.request("GET", "/account/export", "newcomer")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as unpacked:
        assert sorted(unpacked.namelist()) == ["albums.json", "images.json"]
        assert json.loads(unpacked.read("images.json")) == [] == json.loads(unpacked.read("albums.json"))


def test_an_export_with_the_database_down_is_a_503_problem(api: Api) -> None:
    api.db.failure = DatabaseUnavailable("the database is down")
    answer = api.request("GET", "/account/export")
    api.db.failure = None
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "database_unavailable"


def test_erasing_ones_account_needs_the_confirmation_then_leaves_nothing_naming_the_caller(api: Api) -> None:
    mine = api.completed("alice", is_public=True)
    theirs = api.completed("bob", is_public=True)
    assert api.request("PUT", f"/images/{mine['id']}/favorite", "bob").status_code < 300
    assert api.request("PUT", f"/images/{theirs['id']}/favorite", "alice").status_code < 300
    album = api.request("POST", "/albums", json={"name": "mine"}).json()
    assert api.request("PUT", f"/albums/{album['id']}/images/{mine['id']}").status_code < 300
    queued = api.generate("alice")
    files = api.settings.files_dir

    for headers in ({}, {"X-Confirm-Erasure": "bob"}):
        refused = api.request("DELETE", "/account", headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "X-Confirm-Erasure"
    assert api.request("GET", f"/images/{mine['id']}").status_code == 200  # nothing erased yet

    erased = api.request("DELETE", "/account", headers={"X-Confirm-Erasure": "alice"})
    assert erased.status_code == 204, erased.text
    assert memory_naming(api.db.store, "alice") == []
    assert not any("alice" in str(path) for path in files.rglob("*"))
    assert api.request("GET", f"/images/{queued['id']}", "bob").status_code == 404
    assert api.request("GET", f"/images/{theirs['id']}", "bob").json()["status"] == "COMPLETED"
    assert api.request("GET", "/images/favorites", "bob").json()["total"] == 0
    assert any(path.name.startswith(theirs["id"]) for path in files.rglob("*"))
    erasure_rows = [row for row in api.audit() if row[1] == "account.erase"]
    assert len(erasure_rows) == 1 and erasure_rows[0][0].startswith("erased-")
    assert erasure_rows[0][2] == f"account:{erasure_rows[0][0]}" and erasure_rows[0][3] == "success"

    again = api.request("DELETE", "/account", headers={"X-Confirm-Erasure": "alice"})
    assert again.status_code == 204  # nothing left: the same answer
    assert memory_naming(api.db.store, "alice") == []
    # The caller's token still works: a new request starts a new, empty account.
    assert api.request("GET", "/images/user/me").json()["total"] == 0
    assert api.request("GET", "/tokens/balance").json()["balance"] == 100  # the welcome grant again


def test_an_export_that_breaks_part_way_cuts_the_stream_and_is_audited(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored_images(api, "alice", 4)
    storage: ObjectStorage = api.container.storage()
    reads = iter(range(100))
    real_get = storage.get

    def failing_get(key: str) -> bytes:
        if next(reads) >= 2:
            raise StorageUnavailable(f"cannot read {key}: disk gone")
        return real_get(key)

    monkeypatch.setattr(storage, "get", failing_get)
    out = io.BytesIO()
    # The server drops the connection: the body never gets its last chunk, nor the zip its end.
    with pytest.raises(Exception, match="after response started"):
        stream_to_file(api, "/account/export", out)
    assert out.getvalue().startswith(b"PK")
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(out.getvalue()))
    assert ("alice", "account.export", "account:alice", "success") in api.audit()
    failed = [row for row in api.db.store.audit if row.outcome == "failed:storage_unavailable"]
    assert len(failed) == 1 and failed[0].detail.startswith("stopped after 2 images")
