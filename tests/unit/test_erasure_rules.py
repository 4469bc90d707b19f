"""The rules of erasure (pseudonyms, where an id counts as named), the key they are made with,
and the storage listing and folder pruning that let no trace of a user stay in storage."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from nexus_image.adapters.filesystem.storage import FileStorage
from nexus_image.application.storage_keys import user_folders
from nexus_image.domain.erasure import is_pseudonym, names, pseudonym_of, renamed
from nexus_image.entrypoints.composition.erasure_key import KEY_FILE, erasure_key
from nexus_image.entrypoints.settings import Settings
from nexus_image.testing import InMemoryStorage

KEY = b"k" * 32


def test_a_pseudonym_is_one_way_stable_under_one_key_and_different_under_another() -> None:
    token = pseudonym_of(KEY, "alice")
    assert token == pseudonym_of(KEY, "alice") and is_pseudonym(token)
    assert token.startswith("erased-") and len(token) == len("erased-") + 32
    assert token != pseudonym_of(KEY, "alice ") != pseudonym_of(b"j" * 32, "alice")
    assert "alice" not in token
    assert not is_pseudonym("erased-alice") and not is_pseudonym("alice")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("alice", True),
        ("account:alice", True),
        ("of alice, refunded 5", True),
        ("key:k1 (bot of alice)", True),
        ("malice", False),
        ("alice_2", False),
        ("alice-2", False),
        ("alice@example.com", False),
        ("", False),
    ],
)
def test_an_id_is_named_as_a_whole_never_inside_a_longer_name(text: str, named: bool) -> None:
    assert names(text, "alice") is named
    assert (renamed(text, "alice", "erased-x") != text) is named


def test_renaming_replaces_every_whole_occurrence_cuts_to_length_and_changes_nothing_twice() -> None:
    assert renamed("alice paid alice", "alice", "P") == "P paid P"
    assert renamed("of alice, refunded 5", "alice", "erased-0123", length=10) == "of erased-"
    token = pseudonym_of(KEY, "a")
    once = renamed("a gave a to b", "a", token)
    assert once == f"{token} gave {token} to b"
    assert renamed(once, "a", token) == once  # a short id is never found inside its pseudonym
    assert renamed("42 tokens for 42", "42", token) == f"{token} tokens for {token}"


def test_the_key_is_the_configured_one_else_derived_from_the_jwt_secret_else_kept_on_disk(
    tmp_path: Path,
) -> None:
    configured = Settings.model_construct(data_dir=tmp_path, erasure_key=SecretStr("x" * 40), jwt_secret=None)
    assert erasure_key(configured) == b"x" * 40
    with pytest.raises(ValueError, match="at least 32 bytes"):
        erasure_key(
            Settings.model_construct(data_dir=tmp_path, erasure_key=SecretStr("short"), jwt_secret=None)
        )
    secret = "a jwt secret that is long enough for HS256 0123456789"
    derived = erasure_key(
        Settings.model_construct(data_dir=tmp_path, erasure_key=None, jwt_secret=SecretStr(secret))
    )
    assert len(derived) == 32 and secret.encode() not in derived
    assert derived == erasure_key(
        Settings.model_construct(
            data_dir=tmp_path / "elsewhere", erasure_key=None, jwt_secret=SecretStr(secret)
        )
    )  # every replica sharing the secret has the same key
    assert not (tmp_path / KEY_FILE).exists()
    embedded = Settings.model_construct(data_dir=tmp_path, erasure_key=None, jwt_secret=None)
    kept = erasure_key(embedded)
    assert kept == erasure_key(embedded) and len(kept) >= 32
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600


def test_file_storage_lists_a_users_folder_and_prunes_the_folders_it_empties(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path / "files")
    images, thumbnails, _ = user_folders("ann")
    for key in (f"{images}b.png", f"{images}a.png", "images/anna/c.png", f"{thumbnails}a.webp"):
        storage.put(key, b"x", "image/png", {"user-id": "ann"})
    (storage.root / "images" / "ann" / "orphan.png.meta.json").write_text("{}")  # its object lost

    assert storage.keys(images, 10) == [f"{images}a.png", f"{images}b.png", f"{images}orphan.png"]
    assert storage.keys(images, 2) == [f"{images}a.png", f"{images}b.png"]
    assert storage.keys("uploads/ann/", 10) == []
    for key in storage.keys(images, 10) + storage.keys(thumbnails, 10):
        storage.delete(key)
    assert sorted(p.relative_to(storage.root).as_posix() for p in storage.root.rglob("*")) == [
        "images",
        "images/anna",
        "images/anna/c.png",
        "images/anna/c.png.meta.json",
    ]  # no folder named after ann is left
    storage.put(f"{images}new.png", b"y", "image/png", {})  # its folder is made again
    assert storage.get(f"{images}new.png") == b"y"


def test_memory_storage_lists_keys_in_order_and_fails_like_the_others_in_an_outage() -> None:
    storage = InMemoryStorage()
    for key in ("images/ann/b.png", "images/ann/a.png", "images/anna/c.png"):
        storage.put(key, b"x", "image/png", {})
    assert storage.keys("images/ann/", 5) == ["images/ann/a.png", "images/ann/b.png"]
    storage.available = False
    with pytest.raises(Exception, match="unavailable"):
        storage.keys("images/ann/", 5)
